import type { AnyEventMessage, EventName, EventPayloads } from '@shared/api';

export type EventListener = (message: AnyEventMessage) => void;

/** The core's single outgoing stream; adapters forward it to their clients. */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit<E extends EventName>(event: E, payload: EventPayloads[E]): void {
    const message = { event, payload } as AnyEventMessage;
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch (error) {
        // One broken subscriber (a closed socket) must not starve the others.
        console.error(`event listener failed on ${event}:`, error);
      }
    }
  }
}
