import { runConfigSchema } from '@shared/config';
import { selectBackend } from '../backends/select';
import { createRng } from '../engine/random';
import { nodeBackendPlatform } from '../platform/node-backends';
import { VaeTrainer } from '../train/trainer';
import { tf } from '../engine/tf';

const b = await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
console.log(b.backend);
const side = Number(process.argv[2] ?? 64);
for (const [w, r, nrm] of [[0, 0, 'none'], [8, 0, 'none'], [16, 0, 'none'], [16, 1, 'none'], [16, 0, 'layer'], [24, 1, 'none'], [32, 2, 'layer']] as const) {
  const config = w === 0 ? runConfigSchema.parse({ model: 'conv', decoder: 'gaussian' }) : runConfigSchema.parse({ model: 'conv', convArch: 'small', convWidth: w, convResBlocks: r, convNorm: nrm, decoder: 'gaussian' });
  const t = new VaeTrainer({ kind: 'conv', image: { width: side, height: side, channels: 3 }, latent: 16, hidden: 256, conv: w === 0 ? null : { width: w, resBlocks: r, norm: nrm } }, config);
  const n = 32;
  const rng = createRng(7);
  const x = Float32Array.from({ length: n * side * side * 3 }, () => rng.uniform());
  await t.step(x, n);
  const t0 = performance.now();
  let steps = 0;
  const profile = await tf.profile(async () => { await t.step(x, n); });
  while (performance.now() - t0 < 3000) { await t.step(x, n); steps++; }
  const top = profile.kernels.reduce((m, k) => { m.set(k.name, (m.get(k.name) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0)); return m; }, new Map<string, number>());
  console.log(w, r, nrm, ((steps * n * 1000) / (performance.now() - t0)).toFixed(1), 'img/s', [...top].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${v.toFixed(0)}ms`).join(', '));
  t.dispose();
}
