// A model too big for memory must end the run with that reason, quickly — not hang the
// machine or die with an unexplained crash. Forks the built worker (npm run build).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePacked, SPLIT_TRAIN, SPLIT_VALIDATION } from '@shared/dataset-format';
import { WORKER_PROTOCOL_VERSION, type FromWorker, type FromWorkerMessage } from '@shared/worker-protocol';

const workerJs = resolve(process.env['VAE_WORKER_JS'] ?? 'out/main/worker.js');
const dir = mkdtempSync(join(tmpdir(), 'vae-oom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a model too big for memory', () => {
  it('fails the run at once with an out-of-memory reason and a batch size that fits', async () => {
    // 330 grey 256×256 images, conv VAE (33.5 M parameters), batches of 300: about 4.3 GB for one step, over wasm's 4 GB.
    const count = 330;
    const side = 256;
    const split = Uint8Array.from({ length: count }, (_, i) => (i < 300 ? SPLIT_TRAIN : SPLIT_VALIDATION));
    const header = { version: 2 as const, count, width: side, height: side, channels: 1 as const, labels: [] };
    const datasetPath = join(dir, 'big.vaeds');
    writeFileSync(datasetPath, encodePacked({ header, pixels: new Uint8Array(count * side * side), labels: new Int32Array(count).fill(-1), split }));

    const started = Date.now();
    const child = fork(workerJs, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.stderr!.resume();
    const messages: FromWorkerMessage[] = [];
    child.on('message', (raw: unknown) => {
      const envelope = raw as FromWorker;
      messages.push(envelope.msg);
      if (envelope.msg.type === 'hello') {
        child.send({
          v: WORKER_PROTOCOL_VERSION,
          msg: { type: 'start', runId: 1, config: { architecture: 'conv', hidden: 64, batchSize: 300, epochs: 1, backend: 'wasm' } as never, datasetPath, runDir: dir },
        });
      }
    });
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    const seconds = (Date.now() - started) / 1000;
    console.log(`out of memory reported after ${seconds.toFixed(1)} s`);
    expect(code).toBe(1);
    const error = messages.find((m) => m.type === 'error');
    expect(error).toBeDefined();
    if (error?.type !== 'error') return;
    expect(error.error.details).toMatchObject({ reason: 'out_of_memory', field: 'batchSize' });
    expect(error.error.message).toMatch(/needs at least \d+\.\d GB to train on batches of 300 images of 256×256×1, more than the 4\.0 GB the wasm backend can use\. Lower the batch size to \d+/);
    // No training step was attempted.
    expect(messages.some((m) => m.type === 'metrics')).toBe(false);
    expect(seconds).toBeLessThan(60);
  }, 90_000);
});
