import { fork } from 'node:child_process';
import { ISOLATE_OLD_SPACE_FLAG } from '@shared/model-size';
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

export interface SpawnOptions {
  /** Shown in the terminal before each of its stderr lines, and as the process's name. */
  name: string;
  maxMemoryMb?: number;
  /**
   * A process that trains or infers (the worker): its V8 isolate starts with the old
   * generation every training and inference isolate gets (ISOLATE_OLD_SPACE_FLAG;
   * src-worker/threads/isolate-heap.ts says why), which the memory check counts once for it.
   * A flag on the command line, as V8 cannot resize a running isolate's heap.
   */
  trainingHeap?: boolean;
  /**
   * Keep the child's stdout and stderr to itself (only in `stderrTail`, nothing echoed):
   * for `vae-studio doctor --json`, whose stdout must hold only its JSON.
   */
  quiet?: boolean;
}

/**
 * Starts a child process speaking typed messages (training workers, import workers).
 * Only `worker-connection.ts` calls it; everything else opens a connection.
 */
export type SpawnWorker = <In = ToWorker, Out = FromWorker>(entry: string, options: SpawnOptions) => WorkerHandle<In, Out>;

const TAIL_BYTES = 4096;

/** The V8 flags a child starts with (both spawners: child_process.fork and Electron's utilityProcess). */
export function workerExecArgv(options: SpawnOptions): string[] {
  return [...(options.maxMemoryMb ? [`--max-old-space-size=${options.maxMemoryMb}`] : []), ...(options.trainingHeap ? [ISOLATE_OLD_SPACE_FLAG] : [])];
}

/**
 * Lines workers print that tell a user nothing: Dawn lowers two WebGPU limits it reports
 * as a million when it creates an adapter (every worker probes for one). They stay in
 * the stderr tail kept for crash reports; they are not echoed to the terminal.
 */
const NOISE = [/^Warning: maxDynamic\w+PerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/];

/**
 * Echoes a worker's stderr to the app's, a `[name] ` prefix on every line, without
 * NOISE. Lines split across chunks are held until their end arrives (or `flush`).
 */
export function workerStderrEcho(name: string, write: (text: string) => void = (text) => process.stderr.write(text)): { push(chunk: string): void; flush(): void } {
  let pending = '';
  const emit = (lines: string[]): void => {
    const shown = lines.filter((line) => !NOISE.some((pattern) => pattern.test(line.trimEnd())));
    if (shown.length > 0) write(shown.map((line) => `[${name}] ${line}\n`).join(''));
  };
  return {
    push(chunk) {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      emit(lines);
    },
    flush() {
      if (pending !== '') emit([pending]);
      pending = '';
    },
  };
}

export function appendTail(tail: string, chunk: string): string {
  const next = tail + chunk;
  return next.length > TAIL_BYTES ? next.slice(next.length - TAIL_BYTES) : next;
}

/** Web and CLI mode: a plain Node child process with an IPC channel. */
export const forkWorker: SpawnWorker = <In, Out>(entry: string, options: SpawnOptions) => {
  const execArgv = workerExecArgv(options);
  // Quiet: stdout too, as native libraries and tfjs print banners there.
  const child = fork(entry, [], { stdio: ['ignore', options.quiet ? 'pipe' : 'inherit', 'pipe', 'ipc'], execArgv, serialization: 'json' });
  let stderrTail = '';
  const echo = options.quiet ? { push: () => undefined, flush: () => undefined } : workerStderrEcho(options.name);
  const keep = (chunk: string): void => {
    stderrTail = appendTail(stderrTail, chunk);
    echo.push(chunk);
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', keep);
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => (stderrTail = appendTail(stderrTail, chunk)));
  const exitListeners: ((exit: WorkerExit) => void)[] = [];
  let exited = false;
  const emitExit = (code: number | null, signal: string | null): void => {
    if (exited) return;
    exited = true;
    // stderr may still hold the last bytes; give it a tick to drain.
    setImmediate(() => {
      echo.flush();
      for (const listener of exitListeners) listener({ code, signal, stderrTail });
    });
  };
  child.on('exit', emitExit);
  child.on('error', (error) => {
    stderrTail = appendTail(stderrTail, `\n${String(error)}`);
    // A process that never started has no exit of its own to report.
    if (child.pid === undefined) emitExit(null, null);
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
