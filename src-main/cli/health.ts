import { ApiError } from '@shared/errors';
import { ASPECT_BINS, MAX_HEALTH_PAGE, SIZE_BINS, type HealthItem, type HealthKind, type HealthSummary } from '@shared/health';
import type { Dataset } from '@shared/types';
import type { Core } from '../core/core';

export interface HealthFlags {
  dataset?: string;
  project?: string;
  top?: number;
  kind?: string;
}

const KINDS: readonly HealthKind[] = ['leakage', 'pairs', 'blank'];

function describeItem(item: HealthItem): string {
  const name = (i: HealthItem['images'][number]): string => `${i.path ?? `#${i.index}`} (${i.split}${i.label ? `, ${i.label}` : ''})`;
  if (item.kind === 'blank') return `  ${name(item.images[0])}: grey spread ${item.std.toFixed(1)}, mean ${item.mean.toFixed(0)}`;
  return `  ${name(item.images[0])} ≈ ${name(item.images[1])}: ${item.bits} hash bits, mean difference ${item.meanDiff.toFixed(1)}${item.leak ? '  LEAK' : ''}`;
}

function describeSummary(name: string, s: HealthSummary): string {
  const hist = (labels: readonly string[], bins: number[], unknown: number): string =>
    labels.map((l, i) => (bins[i] ? `${l}: ${bins[i]}` : '')).filter(Boolean).join(', ') + (unknown ? `${bins.some(Boolean) ? ', ' : ''}unknown: ${unknown}` : '');
  return [
    `Health of "${name}" (${s.count} images, computed ${s.computedAt}):`,
    `  exact duplicates dropped at import: ${s.exactDuplicates}`,
    `  near-duplicate pairs: ${s.nearDuplicates.total}, of which across splits (leakage): ${s.nearDuplicates.leaking}${s.approximate ? ' (large groups compared approximately)' : ''}`,
    `  nearly blank images: ${s.blanks.total}`,
    ...(s.classBalance.length ? [`  classes (train/validation/test): ${s.classBalance.map((c) => `${c.label} ${c.train}/${c.validation}/${c.test}`).join(', ')}${s.unlabelled ? `, unlabelled ${s.unlabelled}` : ''}`] : []),
    `  originals' longer side: ${hist(SIZE_BINS, s.sizes.bins, s.sizes.unknown)}`,
    `  originals' width:height: ${hist(ASPECT_BINS, s.aspects.bins, s.aspects.unknown)}`,
  ].join('\n');
}

/**
 * `vae-studio health --dataset D [--top N] [--kind leakage|pairs|blank]`: the dataset's
 * health summary and its first N findings of each kind (or of one), computing the report
 * first for a dataset imported before health reports existed.
 */
export async function cmdHealth(core: Core, flags: HealthFlags, emit: (object: Record<string, unknown>, human: string) => void): Promise<void> {
  if (!flags.dataset) throw new ApiError('invalid_input', 'health needs --dataset <id|name>', { field: 'dataset' });
  const top = flags.top ?? 10;
  if (!Number.isInteger(top) || top < 0 || top > 100_000) throw new ApiError('invalid_input', `--top must be a whole number from 0 to 100000, got ${top}`, { field: 'top' });
  if (flags.kind !== undefined && !(KINDS as readonly string[]).includes(flags.kind)) {
    throw new ApiError('invalid_input', `--kind must be one of ${KINDS.join(', ')}, got "${flags.kind}"`, { field: 'kind' });
  }
  const dataset = await findDataset(core, flags.dataset, flags.project);

  let first = await core.call('datasets.health', { datasetId: dataset.id, limit: 1 });
  if (!first.computed) {
    await core.call('datasets.computeHealth', { datasetId: dataset.id });
    first = await core.call('datasets.health', { datasetId: dataset.id, limit: 1 });
    if (!first.computed) throw new ApiError('internal', `The health report of "${dataset.name}" was computed but cannot be read back.`);
  }
  const findings: Partial<Record<HealthKind, { total: number; items: HealthItem[] }>> = {};
  for (const kind of flags.kind ? [flags.kind as HealthKind] : KINDS) {
    const items: HealthItem[] = [];
    let total = 0;
    while (items.length < top) {
      const page = await core.call('datasets.health', { datasetId: dataset.id, kind, offset: items.length, limit: Math.min(MAX_HEALTH_PAGE, top - items.length) });
      if (!page.computed) break;
      total = page.total;
      items.push(...page.items);
      if (page.items.length === 0 || items.length >= page.total) break;
    }
    if (top === 0) {
      const page = await core.call('datasets.health', { datasetId: dataset.id, kind, limit: 1 });
      total = page.computed ? page.total : 0;
    }
    findings[kind] = { total, items };
  }
  const titles: Record<HealthKind, string> = { leakage: 'Near-duplicates across splits', pairs: 'Near-duplicate pairs', blank: 'Nearly blank images' };
  const human = [
    describeSummary(dataset.name, first.summary),
    ...Object.entries(findings).map(([kind, f]) =>
      f.items.length ? `${titles[kind as HealthKind]} (${f.items.length} of ${f.total}):\n${f.items.map(describeItem).join('\n')}` : `${titles[kind as HealthKind]}: none`,
    ),
  ].join('\n');
  emit({ type: 'result', command: 'health', datasetId: dataset.id, summary: first.summary, findings }, human);
}

/** The dataset --dataset names (an id, or a name unique in --project or the workspace). */
export async function findDataset(core: Core, name: string, projectName: string | undefined): Promise<Dataset> {
  const flags = { dataset: name, project: projectName };
  const projects = await core.call('projects.list', {});
  const project = flags.project === undefined ? undefined : projects.find((p) => p.name === flags.project || String(p.id) === flags.project);
  if (flags.project !== undefined && !project) throw new ApiError('not_found', `No project "${flags.project}".`, { field: 'project' });
  const datasets = await core.call('datasets.list', project ? { projectId: project.id } : {});
  const byId = datasets.find((d) => String(d.id) === flags.dataset);
  const byName = datasets.filter((d) => d.name === flags.dataset);
  if (!byId && byName.length > 1) {
    throw new ApiError('invalid_input', `${byName.length} datasets are named "${flags.dataset}" (ids ${byName.map((d) => d.id).join(', ')}): give its id or --project.`, { field: 'dataset' });
  }
  const dataset = byId ?? byName[0];
  if (!dataset) throw new ApiError('not_found', `No dataset "${flags.dataset}"${project ? ` in project "${project.name}"` : ''}. Import one first.`, { field: 'dataset' });
  return dataset;
}
