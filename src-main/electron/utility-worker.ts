import { utilityProcess } from 'electron';
import { appendTail, workerExecArgv, workerStderrEcho, type SpawnOptions, type SpawnWorker, type WorkerExit, type WorkerHandle } from '../core/jobs/spawn';

/** Electron's way to run the trainer: a utilityProcess (Chromium's service process model). */
export const spawnUtilityWorker: SpawnWorker = <In, Out>(entry: string, options: SpawnOptions) => {
  const child = utilityProcess.fork(entry, [], {
    serviceName: `VAE Studio ${options.name}`,
    stdio: ['ignore', options.quiet ? 'pipe' : 'inherit', 'pipe'],
    execArgv: workerExecArgv(options),
  });
  let stderrTail = '';
  let fatal: string | null = null;
  const echo = options.quiet ? { push: () => undefined, flush: () => undefined } : workerStderrEcho(options.name);
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = appendTail(stderrTail, chunk);
    echo.push(chunk);
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => (stderrTail = appendTail(stderrTail, chunk)));
  // Electron reports *why* a utility process died (crash, OOM) before it exits.
  child.on('error', (type: string) => {
    fatal = type;
  });
  const exitListeners: ((exit: WorkerExit) => void)[] = [];
  let killedByUs = false;
  child.on('exit', (code) => {
    const oom = fatal !== null && /oom|memory/i.test(fatal);
    const exit: WorkerExit = {
      code,
      signal: killedByUs ? 'SIGKILL' : null,
      stderrTail: oom ? `${stderrTail}\nout of memory (${fatal})` : stderrTail,
    };
    setImmediate(() => {
      echo.flush();
      exitListeners.forEach((listener) => listener(exit));
    });
  });
  const handle: WorkerHandle<In, Out> = {
    get pid() {
      return child.pid;
    },
    send: (message) => child.postMessage(message),
    onMessage: (listener) => child.on('message', (message: unknown) => listener(message as Out)),
    onExit: (listener) => exitListeners.push(listener),
    kill: () => {
      killedByUs = true;
      child.kill();
    },
  };
  return handle;
};
