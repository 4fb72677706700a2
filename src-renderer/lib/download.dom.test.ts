import { afterEach, describe, expect, it, vi } from 'vitest';
import { downloadCsv } from './download';

/** What the page would have saved: each clicked link's file name and the blob it pointed at. */
function watchDownloads(): { saved: { filename: string; blob: Blob; inPage: boolean }[] } {
  const blobs = new Map<string, Blob>();
  let n = 0;
  vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => {
    const url = `blob:test/${++n}`;
    blobs.set(url, blob as Blob);
    return url;
  });
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {});
  const saved: { filename: string; blob: Blob; inPage: boolean }[] = [];
  vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    saved.push({ filename: this.download, blob: blobs.get(this.getAttribute('href') ?? '')!, inPage: this.isConnected });
  });
  return { saved };
}

afterEach(() => vi.restoreAllMocks());

describe('downloadCsv', () => {
  it('saves the answer under its file name as text/csv, from a link in the page that is gone afterwards', async () => {
    const { saved } = watchDownloads();
    await downloadCsv(Promise.resolve({ filename: 'shapes-health.csv', csv: 'path,split\r\na.png,train\r\n' }));
    expect(saved).toHaveLength(1);
    expect(saved[0]!.filename).toBe('shapes-health.csv');
    expect(saved[0]!.inPage).toBe(true);
    expect(saved[0]!.blob.type).toBe('text/csv');
    expect(await saved[0]!.blob.text()).toBe('path,split\r\na.png,train\r\n');
    expect(document.querySelectorAll('a[download]')).toHaveLength(0);
  });

  it('downloads nothing when the request fails, and passes its error on', async () => {
    const { saved } = watchDownloads();
    await expect(downloadCsv(Promise.reject(new Error('Run 3 was deleted')))).rejects.toThrow('Run 3 was deleted');
    expect(saved).toEqual([]);
  });
});
