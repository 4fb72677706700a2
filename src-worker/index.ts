import { HEARTBEAT_INTERVAL_MS } from '@shared/worker-protocol';
import { openChannel } from './channel';
import { toErrorShape } from './errors';
import { runTrainingJob } from './job';

/**
 * Training worker entry (built to out/main/worker.js). Protocol, in order:
 * hello → (start) → backend → metrics/progress… → per epoch: metrics, epoch,
 * artifact×2 → done | error, then exit (0 after done, 1 after error). Heartbeats
 * with the resident memory every HEARTBEAT_INTERVAL_MS throughout; `ping` gets an
 * immediate heartbeat; `stop` ends after the current step. The process exits when
 * its parent disconnects, so an orphan never keeps training.
 */
const channel = openChannel();
let stopRequested = false;
let running = false;
let exiting = false;

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
      case 'stop':
        stopRequested = true;
        // Nothing running yet: a stop before start is an immediate, empty stop.
        if (!running) {
          channel.send({ type: 'done', reason: 'stopped', summary: {} });
          void exit(0);
        }
        return;
      case 'start':
        if (running || exiting) {
          console.error('[worker] ignoring a second start message');
          return;
        }
        running = true;
        void runTrainingJob(msg, {
          send: (m) => channel.send(m),
          shouldStop: () => stopRequested,
          yieldToEventLoop: () => new Promise((resolve) => setImmediate(resolve)),
        }).then(exit, fail);
        return;
    }
  },
  (why) => channel.send({ type: 'error', error: { code: 'invalid_input', message: `Worker received a bad message: ${why}` } }),
);

channel.send({ type: 'hello', pid: process.pid });
