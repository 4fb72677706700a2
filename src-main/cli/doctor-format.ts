import type { BackendReport, BackendStatus, GpuAdapterInfo } from '@shared/backend-report';

/** `vae-studio doctor` for people: one block per backend, in the order they are tried. */
const INDENT = ' '.repeat(16);

export function describeAdapter(adapter: GpuAdapterInfo): string {
  const parts = [adapter.vendor, adapter.architecture, adapter.device].filter((p) => p !== '');
  const name = parts.join(' ') || 'unnamed adapter';
  const description = adapter.description !== '' && adapter.description !== adapter.device ? ` — ${adapter.description}` : '';
  return `${name}${description}${adapter.isFallbackAdapter ? ' [CPU emulation]' : ''}`;
}

function headline(status: BackendStatus, chosen: boolean): string {
  const parts = [status.loaded ? 'loaded' : 'not loaded'];
  const check = status.selfCheck;
  if (check !== undefined) {
    const error = Number.isFinite(check.maxRelativeError) ? check.maxRelativeError.toExponential(1) : 'not comparable';
    parts.push(`self-check ${check.ok ? 'passed' : 'FAILED'} (relative error ${error}, ${check.seconds.toFixed(1)} s)`);
  } else if (status.backend === 'cpu' && status.loaded) {
    parts.push('the reference the self-checks compare with');
  }
  parts.push(chosen ? 'USED FOR TRAINING' : status.rejected === undefined ? 'usable' : 'not used');
  return parts.join(' · ');
}

function block(status: BackendStatus, chosen: boolean): string {
  const lines = [`${status.backend.padEnd(INDENT.length)}${headline(status, chosen)}`];
  if (status.adapter !== undefined) lines.push(`${INDENT}adapter: ${describeAdapter(status.adapter)}`);
  if (status.rejected !== undefined) lines.push(`${INDENT}why not: ${status.rejected}`);
  for (const note of status.notes) lines.push(`${INDENT}note: ${note}`);
  const versions = Object.entries(status.versions).map(([pkg, v]) => `${pkg} ${v}`);
  if (versions.length > 0) lines.push(`${INDENT}versions: ${versions.join(', ')}`);
  return lines.join('\n');
}

export function formatDoctorReport(report: BackendReport, appVersion: string): string {
  const runtime = Object.entries(report.runtime)
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ');
  const blocks = report.backends.map((b) => block(b, b.backend === report.chosen));
  const verdict =
    report.chosen === null
      ? 'No backend can train here.'
      : `Training uses ${report.chosen}${report.chosen === 'webgpu' ? '' : ' (no usable GPU backend; see "why not" above)'}.`;
  return [`VAE Studio ${appVersion} · ${runtime}`, '', ...blocks, '', verdict].join('\n');
}
