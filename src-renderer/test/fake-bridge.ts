import type { EventName, EventPayloads, RequestInput, RequestName, RequestOutput, StudioBridge, AnyEventMessage } from '@shared/api';
import { ApiError, type ApiErrorShape } from '@shared/errors';

type Envelope = { ok: true; value: unknown } | { ok: false; error: ApiErrorShape };

/** How a request is answered: a value, or a function of its input (sync or async) that may throw an ApiError. */
export type Answer<N extends RequestName> = RequestOutput<N> | ((input: RequestInput<N>) => RequestOutput<N> | Promise<RequestOutput<N>>);

export interface RecordedCall {
  name: RequestName;
  input: unknown;
}

/**
 * The core as a component test sees it: `window.vaeStudio` (the Electron preload's
 * place), so `lib/api.ts` talks to it exactly as it talks to the real transports.
 * Requests are answered from canned answers by name and every call is recorded; events
 * are pushed with `emit`. A request nobody answered fails with `not_found` naming it, so
 * a view that asks for something the test did not expect shows it (and the call is in
 * `calls` either way).
 */
export class FakeBridge implements StudioBridge {
  readonly calls: RecordedCall[] = [];
  #answers = new Map<string, (input: unknown) => unknown>();
  #listeners = new Set<(message: AnyEventMessage) => void>();
  #connection = new Set<(online: boolean) => void>();

  /** Answer every later `name` request with `answer` (replaces an earlier one). */
  answer<N extends RequestName>(name: N, answer: Answer<N>): this {
    this.#answers.set(name, typeof answer === 'function' ? (answer as (input: unknown) => unknown) : () => structuredClone(answer));
    return this;
  }

  /** Fail every later `name` request with this error. */
  fail(name: RequestName, code: ApiErrorShape['code'], message: string, details?: Record<string, unknown>): this {
    this.#answers.set(name, () => {
      throw new ApiError(code, message, details);
    });
    return this;
  }

  /**
   * Hold the next `name` requests open until the test answers: each call gets its own
   * entry in `pending`, in order, to resolve or reject whenever (or never).
   */
  hold<N extends RequestName>(name: N): Held<N> {
    const held = new Held<N>();
    this.#answers.set(name, (input) => held.add(input as RequestInput<N>));
    return held;
  }

  /** The inputs of every `name` request so far, oldest first. */
  inputs<N extends RequestName>(name: N): RequestInput<N>[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.input as RequestInput<N>);
  }

  /** Push an event to every subscriber, as the core's event stream would. */
  emit<E extends EventName>(event: E, payload: EventPayloads[E]): void {
    const message = { event, payload } as AnyEventMessage;
    for (const listener of [...this.#listeners]) listener(message);
  }

  /** Say the transport lost (false) or regained (true) the core, as web mode does. */
  setOnline(online: boolean): void {
    for (const listener of [...this.#connection]) listener(online);
  }

  /** How many event subscriptions are open (a view that went away must have closed its own). */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  reset(): void {
    this.calls.length = 0;
    this.#answers.clear();
    this.#listeners.clear();
    this.#connection.clear();
  }

  async invoke(name: string, input: unknown): Promise<Envelope> {
    this.calls.push({ name: name as RequestName, input: structuredClone(input) });
    const answer = this.#answers.get(name);
    if (!answer) return { ok: false, error: { code: 'not_found', message: `The fake bridge has no answer for ${name}` } };
    try {
      return { ok: true, value: await answer(input) };
    } catch (error) {
      const e = error instanceof ApiError ? error : new ApiError('internal', String(error));
      return { ok: false, error: e.toJSON() };
    }
  }

  onEvent(listener: (message: AnyEventMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onConnection(listener: (online: boolean) => void): () => void {
    this.#connection.add(listener);
    return () => this.#connection.delete(listener);
  }
}

/** Requests held open by `FakeBridge.hold`, answered by the test. */
export class Held<N extends RequestName> {
  readonly pending: { input: RequestInput<N>; resolve(value: RequestOutput<N>): void; reject(error: ApiError): void }[] = [];

  add(input: RequestInput<N>): Promise<RequestOutput<N>> {
    return new Promise((resolve, reject) => this.pending.push({ input, resolve, reject }));
  }

  /** The oldest request still open; throws when there is none (the view never asked). */
  next(): Held<N>['pending'][number] {
    const first = this.pending.shift();
    if (!first) throw new Error('No request is being held: the view did not send one');
    return first;
  }
}

/** The one fake every component test talks to; installed by setup.ts before anything imports lib/bridge. */
export const fakeBridge = new FakeBridge();
