import { fork } from 'node:child_process';
import type { BackendReport } from '@shared/backend-report';
import { ApiError } from '@shared/errors';
import { WORKER_PROTOCOL_VERSION, type FromWorker, type ToWorker } from '@shared/worker-protocol';

/**
 * `vae-studio doctor`: ask a training worker — the same built entry and the same
 * process kind that trains — to try every compute backend and report. Self-checks on
 * a software GPU take seconds, hence the generous limit.
 */
export const DOCTOR_TIMEOUT_MS = 180_000;
const TAIL = 2000;

export function probeBackendsInWorker(workerEntry: string, timeoutMs = DOCTOR_TIMEOUT_MS): Promise<BackendReport> {
  // stdout too: native libraries and tfjs print banners there, which would corrupt --json.
  const child = fork(workerEntry, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-TAIL);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  return new Promise<BackendReport>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(new ApiError('worker_failed', `The backend probe did not answer within ${timeoutMs / 1000} s.`)));
    }, timeoutMs);

    child.on('message', (raw: unknown) => {
      const { v, msg } = raw as FromWorker;
      if (v !== WORKER_PROTOCOL_VERSION) {
        child.kill('SIGKILL');
        settle(() => reject(new ApiError('worker_failed', `The worker speaks protocol ${String(v)}, this app ${WORKER_PROTOCOL_VERSION}.`)));
      } else if (msg.type === 'hello') {
        child.send({ v: WORKER_PROTOCOL_VERSION, msg: { type: 'probe' } } satisfies ToWorker);
      } else if (msg.type === 'probe-report') {
        settle(() => resolve(msg.report));
      } else if (msg.type === 'error') {
        const { code, message, details } = msg.error;
        settle(() => reject(new ApiError(code, `The backend probe failed: ${message}`, details)));
      }
    });
    child.on('error', (error) => settle(() => reject(new ApiError('worker_failed', `Could not start the worker ${workerEntry}: ${error.message}`))));
    child.on('exit', (code, signal) => {
      // Give the last output a tick to arrive before quoting it.
      setImmediate(() =>
        settle(() =>
          reject(
            new ApiError('worker_failed', `The worker ended (${signal ?? `exit code ${String(code)}`}) before reporting.\n${output.trim()}`),
          ),
        ),
      );
    });
  });
}
