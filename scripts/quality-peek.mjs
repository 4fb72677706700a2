// A training run's per-epoch validation figures and, for one epoch, its reconstruction and
// sample grids as PNGs (2× nearest-neighbour, to look at), read from a workspace while the
// run trains or after: the probe loop of docs/QUALITY.md. Opens the database read-only.
// Usage: node scripts/quality-peek.mjs <home> <runId> [epoch (default: the last)] [outDir (default: .)]
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';

const [home, runArg, epochArg, outDir = '.'] = process.argv.slice(2);
const runId = Number(runArg);
if (!home || !Number.isInteger(runId) || runId < 1) {
  console.error('usage: node scripts/quality-peek.mjs <home> <runId> [epoch] [outDir]');
  process.exit(2);
}
const db = new Database(join(home, 'studio.db'), { readonly: true, fileMustExist: true });
const pixels = (() => {
  const run = db.prepare('SELECT d.width * d.height * d.channels AS D FROM runs r JOIN datasets d ON d.id = r.dataset_id WHERE r.id = ?').get(runId);
  return run?.D ?? null;
})();
const rows = db.prepare("SELECT name, step, epoch, value, t_ms FROM metrics WHERE run_id = ? AND name LIKE 'val%' ORDER BY step").all(runId);
const epochs = new Map();
for (const r of rows) {
  const e = epochs.get(r.epoch) ?? { step: r.step, t: r.t_ms };
  e[r.name] = r.value;
  epochs.set(r.epoch, e);
}
for (const [epoch, e] of epochs) {
  const bpd = pixels && e.val_loss !== undefined ? ` = ${(e.val_loss / (pixels * Math.LN2)).toFixed(3)} bits/dim` : '';
  console.log(`epoch ${epoch} step ${e.step} ${(e.t / 1000).toFixed(0)} s: val −ELBO ${e.val_loss?.toFixed(0)} nats${bpd}, KL ${e.val_kl?.toFixed(1)}, active dims ${e.val_active_dims ?? '—'}`);
}
const artifacts = db.prepare("SELECT kind, epoch, blob_hash FROM artifacts WHERE run_id = ? AND kind IN ('reconstructions', 'samples')").all(runId);
const epoch = epochArg ? Number(epochArg) : Math.max(0, ...artifacts.map((a) => a.epoch));
mkdirSync(outDir, { recursive: true });
for (const a of artifacts.filter((x) => x.epoch === epoch)) {
  const png = readFileSync(join(home, 'blobs', a.blob_hash.slice(0, 2), a.blob_hash));
  const { width, height } = await sharp(png).metadata();
  const file = join(outDir, `run${runId}-epoch${epoch}-${a.kind}.png`);
  await sharp(png).resize(width * 2, height * 2, { kernel: 'nearest' }).png().toFile(file);
  console.log(`wrote ${file}`);
}
