import type { BackendReport } from '@shared/backend-report';
import { ApiError } from '@shared/errors';
import type { SpawnWorker } from '../core/jobs/spawn';
import { openWorkerConnection } from '../core/jobs/worker-connection';

/**
 * `vae-studio doctor`: ask a training worker — the same built entry and the same
 * process kind that trains — to try every compute backend and report. Self-checks on
 * a software GPU take seconds, hence the generous limit.
 */
export const DOCTOR_TIMEOUT_MS = 180_000;
/** Output of the worker quoted when it ends without a report. */
const TAIL = 2000;

export function probeBackendsInWorker(spawn: SpawnWorker, workerEntry: string, timeoutMs = DOCTOR_TIMEOUT_MS): Promise<BackendReport> {
  // Quiet: native libraries and tfjs print banners on stdout, which would corrupt --json.
  // No heartbeat watchdog: the whole probe has one deadline instead.
  const worker = openWorkerConnection(spawn, workerEntry, { name: 'doctor', job: { type: 'probe' }, heartbeatTimeoutMs: null, quiet: true });
  return new Promise<BackendReport>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const timer = setTimeout(() => {
      worker.kill();
      settle(() => reject(new ApiError('worker_failed', `The backend probe did not answer within ${timeoutMs / 1000} s.`)));
    }, timeoutMs);

    worker.onMessage((msg) => {
      if (msg.type === 'probe-report') {
        settle(() => resolve(msg.report));
      } else if (msg.type === 'error') {
        const { code, message, details } = msg.error;
        settle(() => reject(new ApiError(code, `The backend probe failed: ${message}`, details)));
      }
    });
    void worker.ended.then(({ exit, reason }) => {
      settle(() => {
        // Refused by the connection (another protocol version): say so.
        if (reason.error) reject(ApiError.from(reason.error));
        else reject(new ApiError('worker_failed', `The worker ended (${exit.signal ?? `exit code ${String(exit.code)}`}) before reporting.\n${exit.stderrTail.slice(-TAIL).trim()}`));
      });
    });
  });
}
