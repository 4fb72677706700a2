// `vae-studio doctor` and a WebGPU run end to end: the real CLI forks the built worker.
// Needs `npm run build` first (the test script builds before the tests) and, unless
// VAE_STUDIO_NO_GPU_TESTS=1, a WebGPU adapter (lavapipe in CI; src-worker/testing/gpu.ts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendReport, BackendStatus } from '@shared/backend-report';
import type { Run } from '@shared/types';
import { tempDir, writeImageFolder } from '../core/testing';
import { describeAdapter, formatDoctorReport } from './doctor-format';
import { appPaths } from '../paths';

const bin = join(appPaths.root, 'bin', 'vae-studio.mjs');
/** The one opt-out of the WebGPU tests (see src-worker/testing/gpu.ts). */
const GPU_TESTS_OPTED_OUT = process.env['VAE_STUDIO_NO_GPU_TESTS'] === '1';
const run = (args: string[]) => spawnSync(process.execPath, [bin, 'doctor', ...args], { encoding: 'utf8', timeout: 170_000 });

beforeAll(() => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
});

describe('vae-studio doctor', () => {
  it('reports every backend from a worker process as one JSON result', () => {
    const result = run(['--json']);
    expect(result.status, result.stderr).toBe(0);
    // Only our JSON on stdout: banners of native libraries stay out of it.
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const { type, command, report } = JSON.parse(lines[0]!) as { type: string; command: string; report: BackendReport };
    expect({ type, command }).toEqual({ type: 'result', command: 'doctor' });
    expect(report.backends.map((b) => b.backend)).toEqual(['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    expect(report.runtime).toMatchObject({ node: process.versions.node, '@tensorflow/tfjs-core': '4.22.0' });
    const byName = Object.fromEntries(report.backends.map((b) => [b.backend, b])) as Record<string, BackendStatus>;
    expect(byName['wasm']).toMatchObject({ loaded: true, selfCheck: { ok: true } });
    expect(byName['cpu']).toMatchObject({ loaded: true });
    expect(byName['tensorflow-gpu']!.rejected).toMatch(/tfjs-node-gpu/);
    if (!GPU_TESTS_OPTED_OUT) {
      // A WebGPU adapter is required here (lavapipe in CI): webgpu loads and computes right.
      const webgpu = byName['webgpu']!;
      expect(webgpu, webgpu.rejected).toMatchObject({ loaded: true, selfCheck: { ok: true }, versions: { webgpu: expect.any(String) } });
      expect(webgpu.adapter).toBeDefined();
      expect(report.chosen).toBe(webgpu.adapter!.isFallbackAdapter ? 'wasm' : 'webgpu');
    }
    // The same report for people: a block per backend, then the verdict.
    const text = formatDoctorReport(report, '0.0.0');
    for (const name of ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']) expect(text).toMatch(new RegExp(`^${name} +(loaded|not loaded)`, 'm'));
    expect(text).toMatch(new RegExp(`^Training uses ${report.chosen}`, 'm'));
  }, 180_000);

  it('is listed in --help', () => {
    const result = spawnSync(process.execPath, [bin, 'doctor', '--help'], { encoding: 'utf8' });
    expect(result.stdout).toMatch(/vae-studio doctor/);
  });
});

describe('doctor report text', () => {
  const report: BackendReport = {
    chosen: 'wasm',
    runtime: { node: '20.20.2' },
    backends: [
      {
        backend: 'webgpu',
        loaded: true,
        selfCheck: { ok: false, maxRelativeError: 1.48, worst: 'matmul A·Bᵀ', seconds: 2.5 },
        adapter: { vendor: 'acme', architecture: 'rdna9', device: 'X1', description: 'ACME X1', isFallbackAdapter: false },
        rejected: 'failed the gradient self-check against cpu (matmul A·Bᵀ: relative error 1.48e+0)',
        notes: [],
        versions: { webgpu: '0.6.2' },
      },
      { backend: 'wasm', loaded: true, selfCheck: { ok: true, maxRelativeError: 1.7e-6, worst: 'x', seconds: 0.4 }, notes: ['wasm: SIMD'], versions: {} },
    ],
  };

  it('says what failed, on which adapter, and what trains instead', () => {
    const text = formatDoctorReport(report, '9.9.9');
    expect(text).toMatch(/^VAE Studio 9\.9\.9 · node 20\.20\.2/);
    expect(text).toMatch(/^webgpu +loaded · self-check FAILED \(relative error 1\.5e\+0, 2\.5 s\) · not used$/m);
    expect(text).toMatch(/adapter: acme rdna9 X1 — ACME X1$/m);
    expect(text).toMatch(/why not: failed the gradient self-check/);
    expect(text).toMatch(/^wasm +loaded · self-check passed .* · USED FOR TRAINING$/m);
    expect(text).toMatch(/^Training uses wasm \(no usable GPU backend/m);
  });

  it('marks a CPU-emulated adapter', () => {
    const lavapipe = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25', isFallbackAdapter: true };
    expect(describeAdapter(lavapipe)).toBe('mesa software llvmpipe — llvmpipe: Mesa 25 [CPU emulation]');
  });
});

function trainingCli(dir: string, args: string[]): { status: number | null; last: Record<string, unknown>; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args, '--home', join(dir, 'home'), '--json'], { encoding: 'utf8', timeout: 170_000 });
  const lines = result.stdout.split('\n').filter((l) => l.trim());
  return { status: result.status, last: JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>, stderr: result.stderr };
}

if (GPU_TESTS_OPTED_OUT) {
  console.log('VAE_STUDIO_NO_GPU_TESTS=1: "vae-studio train --backend webgpu" is not registered (WebGPU tests opted out).');
} else {
  describe('vae-studio train --backend webgpu', () => {
    let dir: ReturnType<typeof tempDir>;
    beforeAll(async () => {
      dir = tempDir();
      await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 16, { size: 8 });
    });
    afterAll(() => dir.cleanup());

    it('trains on the GPU and records the backend and the adapter on the run', () => {
      expect(trainingCli(dir.path, ['import', join(dir.path, 'shapes'), '--size', '8', '--name', 'shapes']).status).toBe(0);
      const trained = trainingCli(dir.path, ['train', '--dataset', 'shapes', '--backend', 'webgpu', '--epochs', '1', '--batch', '8', '--latent', '2', '--hidden', '16']);
      expect(trained.status, trained.stderr).toBe(0);
      const run = (trained.last as { run: Run }).run;
      expect(run).toMatchObject({ status: 'finished', backend: 'webgpu', backendAdapter: { isFallbackAdapter: expect.any(Boolean) } });
      expect(run.backendNotes[0]).toMatch(/^webgpu: forced by the run config/);
      expect(run.backendNotes).toContainEqual(expect.stringMatching(/^webgpu: self-check against cpu passed/));
      expect(Number.isFinite(run.summary['val_loss'])).toBe(true);
    }, 180_000);
  });
}
