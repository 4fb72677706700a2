/**
 * Files the app hands to the browser as downloads (CSV exports of findings, scores,
 * skipped files and run history). The same in Electron and web mode: a link to a blob,
 * clicked, then let go.
 */

/** `text` saved as `filename`. */
export function downloadText(filename: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A core answer that is a CSV file (`{ filename, csv }`), downloaded once it comes; a failed request rejects and downloads nothing. */
export async function downloadCsv(answer: Promise<{ filename: string; csv: string }>): Promise<void> {
  const { filename, csv } = await answer;
  downloadText(filename, csv);
}
