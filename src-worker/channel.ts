import {
  WORKER_PROTOCOL_VERSION,
  type FromWorker,
  type FromWorkerMessage,
  type ToWorker,
} from '@shared/worker-protocol';

/**
 * The worker's only link to its supervisor, the same whichever way it was started:
 * Electron's utilityProcess (process.parentPort, MessageEvent-style `{ data }`) or
 * Node's child_process.fork (process.send / 'message'). Envelopes carry the protocol
 * version; anything else is reported, never acted on.
 */
export type ToWorkerMessage = ToWorker['msg'];

export interface WorkerChannel {
  readonly kind: 'utility-process' | 'fork';
  send(msg: FromWorkerMessage): void;
  onMessage(handler: (msg: ToWorkerMessage) => void, onInvalid: (why: string) => void): void;
  /** The supervisor went away (fork only: Electron kills utility processes with their parent). */
  onDisconnect(handler: () => void): void;
  /** Resolves once messages sent so far have left the process (best effort for utility). */
  flush(): Promise<void>;
}

/** The slice of Electron's ParentPort we use; typed here because src-worker may not import electron. */
interface ParentPortLike {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
}

const TYPES = new Set(['start', 'evaluate', 'health', 'open', 'infer', 'cancel', 'stop', 'ping', 'probe', 'pause', 'resume']);

/** Check an incoming value is an envelope of our protocol version; say why not. */
export function unwrap(value: unknown): { ok: true; msg: ToWorkerMessage } | { ok: false; why: string } {
  if (typeof value !== 'object' || value === null) return { ok: false, why: 'message is not an object' };
  const { v, msg } = value as { v?: unknown; msg?: unknown };
  if (v !== WORKER_PROTOCOL_VERSION) {
    return { ok: false, why: `protocol version ${String(v)} received, this worker speaks ${WORKER_PROTOCOL_VERSION}` };
  }
  const type = typeof msg === 'object' && msg !== null ? (msg as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !TYPES.has(type)) return { ok: false, why: `unknown message type ${String(type)}` };
  // Field-level validation of `start` happens where it is used (runConfigSchema).
  return { ok: true, msg: msg as ToWorkerMessage };
}

const wrap = (msg: FromWorkerMessage): FromWorker => ({ v: WORKER_PROTOCOL_VERSION, msg });

function utilityChannel(port: ParentPortLike): WorkerChannel {
  return {
    kind: 'utility-process',
    send: (msg) => port.postMessage(wrap(msg)),
    onMessage(handler, onInvalid) {
      port.on('message', (event) => {
        const result = unwrap(event.data);
        if (result.ok) handler(result.msg);
        else onInvalid(result.why);
      });
    },
    onDisconnect: () => undefined,
    // postMessage has no completion callback; give the IPC a moment before exit.
    flush: () => new Promise((resolve) => setTimeout(resolve, 100)),
  };
}

function forkChannel(): WorkerChannel {
  let inFlight = 0;
  let drained: (() => void)[] = [];
  const settle = (): void => {
    inFlight--;
    if (inFlight === 0) {
      const waiting = drained;
      drained = [];
      for (const resolve of waiting) resolve();
    }
  };
  return {
    kind: 'fork',
    send(msg) {
      if (!process.connected || process.send === undefined) return;
      inFlight++;
      try {
        process.send(wrap(msg), undefined, undefined, settle);
      } catch {
        // The channel closed between the check and the send; 'disconnect' follows.
        settle();
      }
    },
    onMessage(handler, onInvalid) {
      process.on('message', (value: unknown) => {
        const result = unwrap(value);
        if (result.ok) handler(result.msg);
        else onInvalid(result.why);
      });
    },
    onDisconnect: (handler) => void process.on('disconnect', handler),
    flush: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => drained.push(resolve))),
  };
}

export function openChannel(): WorkerChannel {
  const port = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  if (port !== undefined) return utilityChannel(port);
  if (process.send !== undefined) return forkChannel();
  throw new Error('The training worker must be started by VAE Studio (utilityProcess or child_process.fork).');
}
