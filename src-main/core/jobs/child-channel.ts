import type { Envelope } from '@shared/worker-protocol';

/**
 * The child side of a typed message channel, whichever way the child was started:
 * Electron's utilityProcess (process.parentPort) or Node's fork (process.send). Every
 * message travels in an envelope with the protocol version (see worker-connection.ts,
 * the parent side); one of another version is reported to `onInvalid`, never acted on.
 */
interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

export interface ChildChannel<In, Out> {
  send(message: Out): void;
  onMessage(listener: (message: In) => void, onInvalid?: (why: string) => void): void;
}

export function childChannel<In, Out>(version: number): ChildChannel<In, Out> {
  const port = (process as unknown as { parentPort?: ParentPort }).parentPort;
  const wrap = (msg: Out): Envelope<Out> => ({ v: version, msg });
  const unwrap =
    (listener: (message: In) => void, onInvalid: (why: string) => void) =>
    (value: unknown): void => {
      const { v, msg } = (typeof value === 'object' && value !== null ? value : {}) as Partial<Envelope<In>>;
      if (v === version) listener(msg as In);
      else onInvalid(`protocol version ${String(v)} received, this process speaks ${version}`);
    };
  const ignore = (why: string): void => console.error(`ignoring a message: ${why}`);
  if (port) {
    return {
      send: (message) => port.postMessage(wrap(message)),
      onMessage: (listener, onInvalid = ignore) => port.on('message', (event) => unwrap(listener, onInvalid)(event.data)),
    };
  }
  if (!process.send) throw new Error('This is a child process entry; it needs a parent with an IPC channel.');
  // An orphan must not go on working for nobody.
  process.on('disconnect', () => process.exit(0));
  return {
    send: (message) => {
      if (process.connected) process.send!(wrap(message));
    },
    onMessage: (listener, onInvalid = ignore) => process.on('message', unwrap(listener, onInvalid)),
  };
}
