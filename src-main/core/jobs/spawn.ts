import { fork } from 'node:child_process';
import type { FromWorker, ToWorker } from '@shared/worker-protocol';

export interface WorkerExit {
  code: number | null;
  signal: string | null;
  /** Last lines the worker wrote to stderr: how a crash or an OOM is told apart. */
  stderrTail: string;
}

/** A running worker process, whatever started it (child_process or Electron utilityProcess). */
export interface WorkerHandle<In = ToWorker, Out = FromWorker> {
  readonly pid: number | undefined;
  send(message: In): void;
  onMessage(listener: (message: Out) => void): void;
  onExit(listener: (exit: WorkerExit) => void): void;
  kill(): void;
}

/** Starts a child process speaking typed messages (training workers, import workers). */
export type SpawnWorker = <In = ToWorker, Out = FromWorker>(
  entry: string,
  options: { name: string; maxMemoryMb?: number },
) => WorkerHandle<In, Out>;

const TAIL_BYTES = 4096;

export function appendTail(tail: string, chunk: string): string {
  const next = tail + chunk;
  return next.length > TAIL_BYTES ? next.slice(next.length - TAIL_BYTES) : next;
}

/** Web and CLI mode: a plain Node child process with an IPC channel. */
export const forkWorker: SpawnWorker = <In, Out>(entry: string, options: { name: string; maxMemoryMb?: number }) => {
  const execArgv = options.maxMemoryMb ? [`--max-old-space-size=${options.maxMemoryMb}`] : [];
  const child = fork(entry, [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], execArgv, serialization: 'json' });
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = appendTail(stderrTail, chunk);
    process.stderr.write(`[${options.name}] ${chunk}`);
  });
  const exitListeners: ((exit: WorkerExit) => void)[] = [];
  child.on('exit', (code, signal) => {
    // stderr may still hold the last bytes; give it a tick to drain.
    setImmediate(() => {
      for (const listener of exitListeners) listener({ code, signal, stderrTail });
    });
  });
  child.on('error', (error) => {
    stderrTail = appendTail(stderrTail, `\n${String(error)}`);
  });
  const handle: WorkerHandle<In, Out> = {
    pid: child.pid,
    send(message) {
      if (child.connected) child.send(message as object);
    },
    onMessage(listener) {
      child.on('message', (message) => listener(message as Out));
    },
    onExit(listener) {
      exitListeners.push(listener);
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
  return handle;
};
