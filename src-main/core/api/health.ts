import sharp from 'sharp';
import type { ParsedInput } from '@shared/api';
import { decodePacked, imageBytes, type PackedDataset } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import { HEALTH_VERSION, type HealthImage, type HealthItem, type HealthReport, type HealthSummary } from '@shared/health';
import type { Dataset } from '@shared/types';
import { toCsv } from '../datasets/csv';
import { withoutImages } from '../datasets/exclude';
import { computeHealth } from '../datasets/health';
import type { IndexEntry } from '../datasets/import-folder';
import { datasetHealthHash, datasetIndexHash, datasetNameTaken, insertDataset, setDatasetHealthHash } from '../store/datasets';
import { nextVersionName } from './datasets';
import { requireDataset, type Context, type HandlerMap } from './context';

type HealthRequests = 'datasets.health' | 'datasets.computeHealth' | 'datasets.exclude' | 'datasets.healthCsv';

const SPLITS = ['train', 'validation', 'test'] as const;

export function summaryOf(report: HealthReport): HealthSummary {
  const { nearDuplicates, blanks, ...rest } = report;
  return {
    ...rest,
    nearDuplicates: { total: nearDuplicates.total, leaking: nearDuplicates.leaking, truncated: nearDuplicates.truncated },
    blanks: { total: blanks.total },
  };
}

/** The last few parsed blobs (a page at a time reads the same report, pack and index again and again). */
class SmallCache<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly size: number) {}
  get(key: string, load: () => T): T {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = load();
    this.entries.set(key, value);
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}

async function thumbnail(dataset: PackedDataset, index: number): Promise<string> {
  const { width, height, channels } = dataset.header;
  const per = imageBytes(dataset.header);
  const png = await sharp(dataset.pixels.subarray(index * per, (index + 1) * per), { raw: { width, height, channels } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

export function healthHandlers(ctx: Context): HandlerMap<HealthRequests> {
  const { db, blobs } = ctx.workspace;
  const reports = new SmallCache<HealthReport>(4);
  const packs = new SmallCache<PackedDataset>(2);
  const indexes = new SmallCache<IndexEntry[]>(2);
  const computing = new Map<number, Promise<HealthReport>>();

  /** The dataset's stored report; null when there is none, or only one of an earlier check (HEALTH_VERSION). */
  const readReport = (dataset: Dataset): HealthReport | null => {
    const hash = datasetHealthHash(db, dataset.id);
    if (hash === null) return null;
    const report = storedReport(dataset, hash);
    return report.version === HEALTH_VERSION ? report : null;
  };
  const storedReport = (dataset: Dataset, hash: string): HealthReport =>
    reports.get(hash, () => {
      try {
        return JSON.parse(blobs.read(hash).toString('utf8')) as HealthReport;
      } catch (error) {
        throw new ApiError('internal', `The health report of dataset "${dataset.name}" cannot be read (${error instanceof Error ? error.message : String(error)}). Compute it again.`, {
          field: 'datasetId',
        });
      }
    });
  const packOf = (dataset: Dataset): PackedDataset => packs.get(dataset.contentHash, () => decodePacked(blobs.read(dataset.contentHash)));
  const indexOf = (dataset: Dataset): IndexEntry[] | null => {
    const hash = datasetIndexHash(db, dataset.id);
    if (hash === null || !blobs.has(hash)) return null;
    return indexes.get(hash, () => JSON.parse(blobs.read(hash).toString('utf8')) as IndexEntry[]);
  };

  const compute = (dataset: Dataset): Promise<HealthReport> => {
    const running = computing.get(dataset.id);
    if (running) return running;
    const job = (async () => {
      const report = await computeHealth({ dataset: packOf(dataset), originals: indexOf(dataset), exactDuplicates: dataset.stats.duplicates ?? 0 });
      setDatasetHealthHash(db, dataset.id, blobs.put(Buffer.from(JSON.stringify(report))));
      return report;
    })().finally(() => computing.delete(dataset.id));
    computing.set(dataset.id, job);
    return job;
  };

  const page = async (input: ParsedInput<'datasets.health'>, dataset: Dataset, report: HealthReport) => {
    const pack = packOf(dataset);
    const index = indexOf(dataset);
    const split = pack.split;
    const labelIndex = input.label === undefined ? undefined : pack.header.labels.indexOf(input.label);
    if (labelIndex === -1) {
      throw new ApiError('invalid_input', `Dataset "${dataset.name}" has no label "${input.label}" (its labels: ${pack.header.labels.slice(0, 20).join(', ') || 'none'}).`, {
        field: 'label',
      });
    }
    const matches = (i: number): boolean =>
      (input.split === undefined || SPLITS[split?.[i] ?? 0] === input.split) && (labelIndex === undefined || pack.labels[i] === labelIndex);
    let items: { indices: number[]; make: (images: HealthImage[]) => HealthItem }[];
    if (input.kind === 'blank') {
      items = report.blanks.items.map((b) => ({ indices: [b.index], make: (images) => ({ kind: 'blank', std: b.std, mean: b.mean, images: [images[0]!] }) }));
    } else {
      const pairs = input.kind === 'leakage' ? report.nearDuplicates.pairs.filter((p) => p.leak) : report.nearDuplicates.pairs;
      items = pairs.map((p) => ({
        indices: [p.a, p.b],
        make: (images) => ({ kind: 'pair', bits: p.bits, meanDiff: p.meanDiff, leak: p.leak, images: [images[0]!, images[1]!] }),
      }));
    }
    items = items.filter((item) => item.indices.some(matches));
    if (input.sort === 'index') items.sort((x, y) => x.indices[0]! - y.indices[0]! || (x.indices[1] ?? 0) - (y.indices[1] ?? 0));
    const slice = items.slice(input.offset, input.offset + input.limit);
    const image = async (i: number): Promise<HealthImage> => ({
      index: i,
      path: index?.[i]?.path ?? null,
      split: SPLITS[split?.[i] ?? 0] ?? 'train',
      label: pack.header.labels[pack.labels[i]!] ?? null,
      ...(input.thumbnails ? { thumb: await thumbnail(pack, i) } : {}),
    });
    const out: HealthItem[] = [];
    for (const item of slice) out.push(item.make(await Promise.all(item.indices.map(image))));
    return { total: items.length, items: out };
  };

  return {
    'datasets.health': async (input) => {
      const dataset = requireDataset(ctx, input.datasetId);
      const report = readReport(dataset);
      if (!report) return { datasetId: dataset.id, computed: false };
      const { total, items } = await page(input, dataset, report);
      return { datasetId: dataset.id, computed: true, summary: summaryOf(report), kind: input.kind, offset: input.offset, total, items };
    },
    'datasets.exclude': async ({ datasetId, indices, name }) => {
      const dataset = requireDataset(ctx, datasetId);
      const newName = name ?? nextVersionName(ctx, dataset.projectId, dataset.name);
      if (datasetNameTaken(db, dataset.projectId, newName)) {
        throw new ApiError('conflict', `This project already has a dataset named "${newName}"`, { field: 'name' });
      }
      const index = indexOf(dataset);
      const result = withoutImages(packOf(dataset), index, indices, dataset.name);
      const excluded = dataset.count - result.kept.header.count;
      const health = await computeHealth({ dataset: result.kept, originals: result.index, exactDuplicates: dataset.stats.duplicates ?? 0 });
      // Blobs first, the row last: a failure between leaves unreferenced blobs, never a row without its files.
      const blobHash = blobs.put(result.packed);
      const indexHash = result.index ? blobs.put(Buffer.from(JSON.stringify(result.index))) : null;
      const healthHash = blobs.put(Buffer.from(JSON.stringify(health)));
      return insertDataset(
        db,
        {
          projectId: dataset.projectId,
          name: newName,
          sourcePath: dataset.sourcePath,
          count: result.kept.header.count,
          labels: dataset.labels,
          labelCounts: result.labelCounts,
          skipped: dataset.skipped,
          settings: dataset.settings,
          splitCounts: result.splitCounts,
          stats: { ...dataset.stats, excluded, added: undefined, removed: undefined, seconds: health.seconds },
          previousId: dataset.id,
          blobHash,
          indexHash,
          healthHash,
        },
        ctx.now(),
      );
    },
    'datasets.healthCsv': async ({ datasetId }) => {
      const dataset = requireDataset(ctx, datasetId);
      const report = readReport(dataset) ?? (await compute(dataset));
      const pack = packOf(dataset);
      const index = indexOf(dataset);
      const describe = (i: number): [string, string, string] => [
        index?.[i]?.path ?? `#${i}`,
        SPLITS[pack.split?.[i] ?? 0] ?? 'train',
        pack.header.labels[pack.labels[i]!] ?? '',
      ];
      const rows: string[][] = [];
      for (const p of report.nearDuplicates.pairs) {
        for (const [self, other] of [
          [p.a, p.b],
          [p.b, p.a],
        ] as const) {
          const [otherPath, otherSplit] = describe(other);
          rows.push([
            ...describe(self),
            p.leak ? 'leakage' : 'near-duplicate',
            String(p.bits),
            `near-duplicate of ${otherPath} (${otherSplit}): ${p.bits} hash bits apart, mean difference ${p.meanDiff}`,
          ]);
        }
      }
      for (const b of report.blanks.items) rows.push([...describe(b.index), 'blank', String(b.std), `nearly blank: grey spread ${b.std}, mean ${b.mean}`]);
      return { filename: `${dataset.name.replace(/[^\w.-]+/g, '_')}-health.csv`, csv: toCsv(['path', 'split', 'label', 'finding', 'score', 'reason'], rows) };
    },
    'datasets.computeHealth': async ({ datasetId }) => {
      const dataset = requireDataset(ctx, datasetId);
      return { datasetId, summary: summaryOf(await compute(dataset)) };
    },
  };
}
