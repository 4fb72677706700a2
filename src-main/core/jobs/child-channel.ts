/**
 * The child side of a typed message channel, whichever way the child was started:
 * Electron's utilityProcess (process.parentPort) or Node's fork (process.send).
 */
interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

export interface ChildChannel<In, Out> {
  send(message: Out): void;
  onMessage(listener: (message: In) => void): void;
}

export function childChannel<In, Out>(): ChildChannel<In, Out> {
  const port = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (port) {
    return {
      send: (message) => port.postMessage(message),
      onMessage: (listener) => port.on('message', (event) => listener(event.data as In)),
    };
  }
  if (!process.send) throw new Error('This is a child process entry; it needs a parent with an IPC channel.');
  // An orphan must not go on working for nobody.
  process.on('disconnect', () => process.exit(0));
  return {
    send: (message) => {
      if (process.connected) process.send!(message as object);
    },
    onMessage: (listener) => process.on('message', (message) => listener(message as In)),
  };
}
