import { readOnlyRequests, type AnyEventMessage, type RequestName, type StudioBridge } from '@shared/api';
import type { ApiErrorShape } from '@shared/errors';
import { ConnectionState } from './connection';

declare global {
  interface Window {
    /** Exposed by the Electron preload through contextBridge; absent in web mode. */
    vaeStudio?: StudioBridge;
  }
}

type Envelope = { ok: true; value: unknown } | { ok: false; error: ApiErrorShape };

/** How long a read waits for the server to come back before it reports the loss. */
const READ_RETRY_WINDOW_MS = 15_000;

/**
 * Web mode: the loopback server set an HttpOnly session cookie when the page was
 * opened with its per-launch token, so requests here carry no secret of their own.
 *
 * A reload or a closed tab aborts the requests in flight: those failures belong to a
 * page that is going away and are never reported. A server that stopped answering
 * puts the page in a reconnecting state: the event socket retries with back-off, reads
 * wait for it and are sent again, writes report the loss (repeating one could act twice).
 */
export function webBridge(target: Window = window): StudioBridge {
  const listeners = new Set<(message: AnyEventMessage) => void>();
  const connection = new ConnectionState();
  let socket: WebSocket | null = null;
  let retryMs = 250;
  let unloading = false;

  target.addEventListener('beforeunload', () => (unloading = true));
  target.addEventListener('pagehide', () => (unloading = true));
  // Back from the back/forward cache: the page lives again.
  target.addEventListener('pageshow', (event) => {
    if (event.persisted) unloading = false;
  });

  const connect = (): void => {
    const scheme = target.location.protocol === 'https:' ? 'wss' : 'ws';
    const current = new WebSocket(`${scheme}://${target.location.host}/events`);
    socket = current;
    current.onmessage = (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as AnyEventMessage;
      for (const listener of listeners) listener(message);
    };
    current.onopen = () => {
      retryMs = 250;
      connection.up();
    };
    current.onclose = () => {
      if (socket === current) socket = null;
      // Closed by the page (no one listens any more) or by its unloading: not a loss.
      if (unloading || listeners.size === 0) return;
      connection.down();
      if (listeners.size > 0) setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };

  const lost = (error: unknown): Envelope => ({
    ok: false,
    error: {
      code: 'io_error',
      message: `Lost contact with the VAE Studio server (${String(error)}). Is it still running? The page reconnects by itself once it answers again.`,
    },
  });

  return {
    // The loopback server serves GET /artifacts/<id> to the page's session.
    artifactUrls: true,
    async invoke(name, input) {
      const deadline = Date.now() + READ_RETRY_WINDOW_MS;
      for (;;) {
        try {
          const response = await fetch(`/api/${encodeURIComponent(name)}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(input ?? {}),
            credentials: 'same-origin',
          });
          return (await response.json()) as Envelope;
        } catch (error) {
          // The page is being reloaded or closed: nobody will read the answer.
          if (unloading) return new Promise<Envelope>(() => {});
          if (!readOnlyRequests.has(name as RequestName) || Date.now() >= deadline) return lost(error);
          if (socket?.readyState === WebSocket.OPEN) {
            // The server was there a moment ago: try once more shortly.
            await new Promise((resolve) => setTimeout(resolve, 250));
          } else {
            connection.down();
            if (!socket) connect();
            // The socket's return (or two seconds) sends the read again.
            await connection.whenOnline(Math.min(2000, Math.max(0, deadline - Date.now())));
          }
        }
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
    onConnection(listener) {
      return connection.listen(listener);
    },
    async listFolders(path) {
      try {
        const response = await fetch('/web/folders', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(path === null ? {} : { path }),
          credentials: 'same-origin',
        });
        return (await response.json()) as Awaited<ReturnType<NonNullable<StudioBridge['listFolders']>>>;
      } catch (error) {
        return lost(error) as { ok: false; error: ApiErrorShape };
      }
    },
  };
}

export const bridge: StudioBridge = window.vaeStudio ?? webBridge();
