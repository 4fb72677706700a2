import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StudioBridge } from '@shared/api';

/**
 * The web transport when the page and the server part: a reload aborts requests (never
 * reported), a stopped server makes the page reconnect (reads wait and are sent again,
 * writes report the loss). Window, fetch and WebSocket are stand-ins the test drives.
 */

class FakeSocket {
  static readonly OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  close(): void {
    this.readyState = 3;
    this.onclose?.();
  }
}

type Listener = (event: { persisted?: boolean }) => void;

function fakeWindow(): Window & { fire(type: string): void } {
  const listeners = new Map<string, Listener[]>();
  return {
    location: { protocol: 'http:', host: '127.0.0.1:1234' },
    addEventListener: (type: string, listener: Listener) => listeners.set(type, [...(listeners.get(type) ?? []), listener]),
    fire: (type: string) => listeners.get(type)?.forEach((listener) => listener({})),
  } as unknown as Window & { fire(type: string): void };
}

let fetchMock: ReturnType<typeof vi.fn>;
let webBridge: (target: Window) => StudioBridge;

beforeEach(async () => {
  vi.useFakeTimers();
  FakeSocket.all = [];
  fetchMock = vi.fn();
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.stubGlobal('fetch', fetchMock);
  vi.stubGlobal('window', { vaeStudio: {} });
  ({ webBridge } = await import('./bridge'));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const answer = (value: unknown): Response => ({ json: async () => ({ ok: true, value }) }) as Response;

describe('web transport', () => {
  it('never reports the requests a reload aborts', async () => {
    const page = fakeWindow();
    const bridge = webBridge(page);
    let rejectFetch: (error: Error) => void = () => {};
    fetchMock.mockReturnValue(new Promise((_, reject) => (rejectFetch = reject)));
    let settled = false;
    void bridge.invoke('runs.get', { runId: 1 }).then(() => (settled = true));
    page.fire('beforeunload');
    rejectFetch(new TypeError('Failed to fetch'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled).toBe(false);
  });

  it('a stopped server: the page goes offline, reads wait for it and are sent again, then it is online', async () => {
    const page = fakeWindow();
    const bridge = webBridge(page);
    const states: boolean[] = [];
    bridge.onConnection!((online) => states.push(online));
    bridge.onEvent(() => {});
    FakeSocket.all[0]!.open();

    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch')).mockResolvedValueOnce(answer({ id: 1, status: 'running' }));
    FakeSocket.all[0]!.close(); // the server went away
    expect(states).toEqual([false]);
    const reply = bridge.invoke('runs.get', { runId: 1 });
    await vi.advanceTimersByTimeAsync(300);
    expect(FakeSocket.all.length).toBeGreaterThan(1); // reconnecting with back-off
    FakeSocket.all.at(-1)!.open(); // the server is back
    await vi.advanceTimersByTimeAsync(10);
    await expect(reply).resolves.toEqual({ ok: true, value: { id: 1, status: 'running' } });
    expect(states).toEqual([false, true]);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('a write is never sent twice: it reports the loss, naming the server', async () => {
    const bridge = webBridge(fakeWindow());
    bridge.onEvent(() => {});
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    const reply = await bridge.invoke('runs.cancel', { runId: 1 });
    expect(reply).toMatchObject({ ok: false, error: { code: 'io_error', message: expect.stringContaining('Lost contact with the VAE Studio server') } });
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('a read gives up after its window with the same clear message', async () => {
    const bridge = webBridge(fakeWindow());
    bridge.onEvent(() => {});
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    const reply = bridge.invoke('runs.list', {});
    await vi.advanceTimersByTimeAsync(16_000);
    await expect(reply).resolves.toMatchObject({ ok: false, error: { code: 'io_error' } });
  });

  it('closing the socket because nobody listens any more is not a loss', () => {
    const bridge = webBridge(fakeWindow());
    const states: boolean[] = [];
    bridge.onConnection!((online) => states.push(online));
    const unsubscribe = bridge.onEvent(() => {});
    FakeSocket.all[0]!.open();
    unsubscribe();
    expect(states).toEqual([]);
  });
});
