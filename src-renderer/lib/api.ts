import type {
  AnyEventMessage,
  EventName,
  EventPayloads,
  RequestInput,
  RequestName,
  RequestOutput,
} from '@shared/api';
import { ApiError } from '@shared/errors';
import { bridge } from './bridge';

/** The renderer's only way to reach the core: typed requests and typed events. */
export async function call<N extends RequestName>(
  name: N,
  input: RequestInput<N>,
): Promise<RequestOutput<N>> {
  const envelope = await bridge.invoke(name, input);
  if (!envelope.ok) throw ApiError.from(envelope.error);
  return envelope.value as RequestOutput<N>;
}

export function on<E extends EventName>(
  event: E,
  listener: (payload: EventPayloads[E]) => void,
): () => void {
  return bridge.onEvent((message: AnyEventMessage) => {
    if (message.event === event) listener(message.payload as EventPayloads[E]);
  });
}

/**
 * Told false when the transport loses the core and true when it has it back (web mode
 * only; the desktop app's IPC is never lost). Events sent meanwhile are gone: catch up.
 */
export function onConnection(listener: (online: boolean) => void): () => void {
  return bridge.onConnection?.(listener) ?? (() => {});
}
