import { HEARTBEAT_INTERVAL_MS } from '@shared/worker-protocol';
import { openChannel } from './channel';
import { tf } from './engine/tf';
import { toErrorShape } from './errors';
import { runEvaluationJob } from './evaluate-job';
import { runHealthJob } from './health/score-job';
import { ModelServer } from './inference/serve';
import { runTrainingJob, type JobContext } from './job';
import { PauseGate } from './pause';
import { probeReport } from './probe';

/**
 * Training worker entry (built to out/main/worker.js). Protocol, in order:
 * hello → (start) → backend → metrics/progress… → per epoch: metrics, epoch,
 * artifact×2 → done | error, then exit (0 after done, 1 after error). Heartbeats
 * with the resident memory every HEARTBEAT_INTERVAL_MS throughout; `ping` gets an
 * immediate heartbeat; `stop` ends after the current step; `pause` holds after the
 * current step (answered by state paused) until `resume` (state running). `evaluate`
 * instead of `start`: backend → progress… → metrics, done (IWAE bound of a
 * checkpoint on the test split). `health` instead of `start`: backend → health-progress… →
 * health-report, done (every image scored for dataset health). `probe` instead of
 * `start`: probe-report, then exit 0 (`vae-studio doctor`). `open` instead of `start`:
 * backend → ready, then `infer` requests answered by id (infer-partial…, infer-result |
 * infer-error), `cancel` by id, until `stop` (exit 0). The process exits when
 * its parent disconnects, so an orphan never keeps training.
 */
// tfjs's console advice is for developers (its first tensor on the cpu backend suggests
// installing tfjs-node, which the app loads by itself when present; `doctor` explains the
// backends). In tfjs-core 4.22 this flag gates only those warnings, no computation.
tf.env().set('PROD', true);

const channel = openChannel();
let stopRequested = false;
let running = false;
let exiting = false;
const gate = new PauseGate((state) => channel.send({ type: 'state', state }));
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
let server: ModelServer | null = null;

const parentPid = process.ppid;
const heartbeat = (): void => channel.send({ type: 'heartbeat', memoryBytes: process.memoryUsage().rss });
const timer = setInterval(() => {
  // Re-parented means the supervisor died without a clean disconnect (kill -9 of the
  // app; utilityProcess has no 'disconnect' event): stop rather than train for nobody.
  if (process.ppid !== parentPid) process.exit(1);
  heartbeat();
}, HEARTBEAT_INTERVAL_MS);

async function exit(code: number): Promise<never> {
  exiting = true;
  clearInterval(timer);
  await channel.flush();
  process.exit(code);
}

function fail(error: unknown): void {
  if (exiting) return;
  channel.send({ type: 'error', error: toErrorShape(error) });
  void exit(1);
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
channel.onDisconnect(() => process.exit(1));

channel.onMessage(
  (msg) => {
    switch (msg.type) {
      case 'ping':
        heartbeat();
        return;
      case 'pause':
        gate.pause();
        return;
      case 'resume':
        gate.resume();
        return;
      case 'stop':
        stopRequested = true;
        gate.interrupt();
        if (server !== null) {
          server.close();
          channel.send({ type: 'done', reason: 'stopped', summary: {} });
          void exit(0);
          return;
        }
        // Nothing running yet: a stop before start is an immediate, empty stop.
        if (!running) {
          channel.send({ type: 'done', reason: 'stopped', summary: {} });
          void exit(0);
        }
        return;
      case 'open':
        if (running || exiting) return;
        running = true;
        server = new ModelServer((m) => channel.send(m), yieldToEventLoop);
        void server.open(msg).catch(fail);
        return;
      case 'infer':
        if (server === null) {
          channel.send({ type: 'infer-error', id: msg.id, error: { code: 'conflict', message: 'No model is open in this worker' } });
          return;
        }
        server.infer(msg.id, msg.request);
        return;
      case 'cancel':
        server?.cancel(msg.id);
        return;
      case 'probe':
        if (running || exiting) return;
        running = true;
        void probeReport().then((report) => {
          channel.send({ type: 'probe-report', report });
          return exit(0);
        }, fail);
        return;
      case 'start':
      case 'evaluate':
      case 'health': {
        if (running || exiting) {
          console.error(`[worker] ignoring a second ${msg.type} message`);
          return;
        }
        running = true;
        const context: JobContext = {
          send: (m) => channel.send(m),
          shouldStop: () => stopRequested,
          yieldToEventLoop,
          waitWhilePaused: () => gate.wait(() => stopRequested),
        };
        const job = msg.type === 'start' ? runTrainingJob(msg, context) : msg.type === 'evaluate' ? runEvaluationJob(msg, context) : runHealthJob(msg, context);
        void job.then(exit, fail);
        return;
      }
    }
  },
  (why) => channel.send({ type: 'error', error: { code: 'invalid_input', message: `Worker received a bad message: ${why}` } }),
);

channel.send({ type: 'hello', pid: process.pid });
