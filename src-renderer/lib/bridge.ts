import type { AnyEventMessage, StudioBridge } from '@shared/api';
import type { ApiErrorShape } from '@shared/errors';

declare global {
  interface Window {
    /** Exposed by the Electron preload through contextBridge; absent in web mode. */
    vaeStudio?: StudioBridge;
  }
}

type Envelope = { ok: true; value: unknown } | { ok: false; error: ApiErrorShape };

/**
 * Web mode: the loopback server set an HttpOnly session cookie when the page was
 * opened with its per-launch token, so requests here carry no secret of their own.
 */
function webBridge(): StudioBridge {
  const listeners = new Set<(message: AnyEventMessage) => void>();
  let socket: WebSocket | null = null;
  let retryMs = 250;

  const connect = (): void => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/events`);
    socket.onmessage = (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as AnyEventMessage;
      for (const listener of listeners) listener(message);
    };
    socket.onopen = () => {
      retryMs = 250;
    };
    socket.onclose = () => {
      socket = null;
      if (listeners.size > 0) setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };

  return {
    async invoke(name, input) {
      try {
        const response = await fetch(`/api/${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input ?? {}),
          credentials: 'same-origin',
        });
        return (await response.json()) as Envelope;
      } catch (error) {
        return {
          ok: false,
          error: {
            code: 'io_error',
            message: `Lost contact with the VAE Studio server (${String(error)}). Is it still running?`,
          },
        };
      }
    },
    onEvent(listener) {
      listeners.add(listener);
      if (!socket) connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) socket?.close();
      };
    },
  };
}

export const bridge: StudioBridge = window.vaeStudio ?? webBridge();
