// Writes a generated photo-like dataset for the 64×64×3 quality check (issue #19): one
// object per image from five classes (ball, box, pyramid, ring, star), lit from a random
// side, with a soft shadow, at a random place and scale, on a gradient background with
// noise texture and a horizon. PNGs in one subfolder per class. Deterministic: the same
// seed writes the same files.
// Usage: node scripts/make-scenes.mjs [count=3000] [outDir=/tmp/vae-scenes] [seed=19] [side=64]
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from './mulberry32.mjs';

const count = Number(process.argv[2] ?? 3000);
const outDir = process.argv[3] ?? '/tmp/vae-scenes';
const seed = Number(process.argv[4] ?? 19);
const side = Number(process.argv[5] ?? 64);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(side) || side < 8) {
  console.error('usage: node scripts/make-scenes.mjs [count>=1] [outDir] [seed] [side>=8]');
  process.exit(2);
}

const CLASSES = ['ball', 'box', 'pyramid', 'ring', 'star'];
const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));

/** HSV (h in turns) to RGB 0..1. */
function hsv(h, s, v) {
  const f = (n) => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

/**
 * The object's coverage and surface normal's light term at (u, v), coordinates relative to
 * its centre in units of its radius; null outside. Edges are anti-aliased over `aa`.
 */
function shapeAt(kind, u, v, aa, spin) {
  const cs = Math.cos(spin);
  const sn = Math.sin(spin);
  const ru = u * cs - v * sn;
  const rv = u * sn + v * cs;
  switch (kind) {
    case 'ball': {
      const d = Math.hypot(u, v);
      const cover = Math.min(1, Math.max(0, (1 - d) / aa));
      const nz = Math.sqrt(Math.max(0, 1 - d * d));
      return cover > 0 ? { cover, nx: u, ny: v, nz } : null;
    }
    case 'box': {
      const d = Math.max(Math.abs(ru), Math.abs(rv)) / 0.8;
      const cover = Math.min(1, Math.max(0, (1 - d) / aa));
      // Bevelled faces: the normal tilts towards the nearer edge.
      const ex = Math.abs(ru) > Math.abs(rv);
      const nx = ex ? Math.sign(ru) * 0.5 : 0;
      const ny = ex ? 0 : Math.sign(rv) * 0.5;
      const t = d > 0.75 ? 1 : 0;
      return cover > 0 ? { cover, nx: nx * t, ny: ny * t, nz: t ? 0.85 : 1 } : null;
    }
    case 'pyramid': {
      // Upward triangle; two faces split at the middle, lit differently.
      const top = -0.9;
      const bottom = 0.75;
      const halfWidth = ((v - top) / (bottom - top)) * 0.95;
      const inside = Math.min(v - top, bottom - v, halfWidth - Math.abs(u));
      const cover = Math.min(1, Math.max(0, inside / (aa * 0.7)));
      return cover > 0 ? { cover, nx: u >= 0 ? 0.6 : -0.6, ny: -0.3, nz: 0.75 } : null;
    }
    case 'ring': {
      const d = Math.hypot(u, v);
      const inside = Math.min(1 - d, d - 0.5);
      const cover = Math.min(1, Math.max(0, inside / aa));
      const mid = (d - 0.75) / 0.25;
      const nz = Math.sqrt(Math.max(0, 1 - mid * mid));
      return cover > 0 ? { cover, nx: (u / (d || 1)) * mid, ny: (v / (d || 1)) * mid, nz } : null;
    }
    case 'star': {
      const a = Math.atan2(rv, ru);
      const d = Math.hypot(u, v);
      const k = 5;
      const sector = ((a / (2 * Math.PI)) * k + k) % 1;
      const radius = 0.45 + 0.55 * Math.abs(1 - 2 * sector);
      const cover = Math.min(1, Math.max(0, (radius - d) / aa));
      return cover > 0 ? { cover, nx: sector < 0.5 ? 0.4 : -0.4, ny: 0, nz: 0.9 } : null;
    }
    default:
      throw new Error(kind);
  }
}

function scene(rnd, kind) {
  const px = new Uint8Array(side * side * 3);
  // Background: sky/floor split at a horizon, each a gradient, with value noise.
  const skyHue = rnd();
  const sky = [hsv(skyHue, 0.2 + 0.4 * rnd(), 0.6 + 0.4 * rnd()), hsv(skyHue + 0.1 * (rnd() - 0.5), 0.3 + 0.4 * rnd(), 0.4 + 0.5 * rnd())];
  const floorHue = rnd();
  const floor = hsv(floorHue, 0.2 + 0.5 * rnd(), 0.25 + 0.45 * rnd());
  const horizon = side * (0.45 + 0.3 * rnd());
  const grain = 6 + 14 * rnd();
  const cell = 4 + Math.floor(rnd() * 6);
  const cells = Math.ceil(side / cell) + 2;
  const noise = Float32Array.from({ length: cells * cells }, () => rnd() - 0.5);
  const vnoise = (x, y) => {
    const gx = x / cell;
    const gy = y / cell;
    const ix = Math.floor(gx);
    const iy = Math.floor(gy);
    const fx = gx - ix;
    const fy = gy - iy;
    const at = (i, j) => noise[(j % cells) * cells + (i % cells)];
    return (at(ix, iy) * (1 - fx) + at(ix + 1, iy) * fx) * (1 - fy) + (at(ix, iy + 1) * (1 - fx) + at(ix + 1, iy + 1) * fx) * fy;
  };
  // Object: colour, size, place, light direction.
  const colour = hsv(rnd(), 0.55 + 0.45 * rnd(), 0.65 + 0.35 * rnd());
  const r = side * (0.16 + 0.16 * rnd());
  const cx = r + rnd() * (side - 2 * r);
  const cy = Math.min(side - r, Math.max(r, horizon + (rnd() - 0.6) * side * 0.35));
  const spin = rnd() * Math.PI * 2;
  const la = rnd() * Math.PI * 2;
  const light = [Math.cos(la) * 0.6, -Math.abs(Math.sin(la)) * 0.6, 0.55];
  const ln = Math.hypot(...light);
  const [lx, ly, lz] = light.map((c) => c / ln);
  const aa = 1.2 / r;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let rgb;
      const n = vnoise(x, y) * grain + vnoise(x * 3.1, y * 3.1) * grain * 0.4;
      if (y < horizon) {
        const t = y / Math.max(1, horizon);
        rgb = [0, 1, 2].map((c) => (sky[0][c] * (1 - t) + sky[1][c] * t) * 255 + n * 0.5);
      } else {
        const t = (y - horizon) / Math.max(1, side - horizon);
        rgb = [0, 1, 2].map((c) => floor[c] * (0.8 + 0.4 * t) * 255 + n);
      }
      // Soft shadow on the floor, away from the light.
      const sx = (x + 0.5 - (cx - lx * r * 0.6)) / (r * 1.05);
      const sy = (y + 0.5 - (cy + r * 0.85)) / (r * 0.3);
      const shade = Math.max(0, 1 - Math.hypot(sx, sy));
      if (shade > 0) rgb = rgb.map((c) => c * (1 - 0.55 * Math.min(1, shade * 1.6)));
      const hit = shapeAt(kind, (x + 0.5 - cx) / r, (y + 0.5 - cy) / r, aa, spin);
      if (hit) {
        const nl = Math.hypot(hit.nx, hit.ny, hit.nz) || 1;
        const diffuse = Math.max(0, (hit.nx * lx + hit.ny * ly + hit.nz * lz) / nl);
        const spec = Math.pow(Math.max(0, diffuse), 24) * 0.5;
        const obj = colour.map((c) => (c * (0.3 + 0.75 * diffuse) + spec) * 255);
        rgb = rgb.map((c, i) => c * (1 - hit.cover) + obj[i] * hit.cover);
      }
      const o = (y * side + x) * 3;
      px[o] = clamp(rgb[0]);
      px[o + 1] = clamp(rgb[1]);
      px[o + 2] = clamp(rgb[2]);
    }
  }
  return px;
}

rmSync(outDir, { recursive: true, force: true });
for (const c of CLASSES) mkdirSync(join(outDir, c), { recursive: true });
for (let i = 0; i < count; i++) {
  const kind = CLASSES[i % CLASSES.length];
  const rnd = mulberry32(seed * 1_000_003 + i);
  const pixels = scene(rnd, kind);
  await sharp(Buffer.from(pixels), { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toFile(join(outDir, kind, `${kind}-${String(i).padStart(5, '0')}.png`));
}
console.log(`wrote ${count} ${side}×${side} scenes (${CLASSES.join(', ')}) to ${outDir}`);
