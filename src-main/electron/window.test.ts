// The Electron window's security settings, checked without an Electron binary: the
// electron module is replaced by a recorder of what our code asks of it.
import { beforeEach, describe, expect, it, vi } from 'vitest';

type Handler = (...args: unknown[]) => unknown;
const recorded = vi.hoisted(() => ({
  windowOptions: null as null | { webPreferences: Record<string, unknown> },
  contentsHandlers: new Map<string, Handler>(),
  windowOpenHandler: null as null | Handler,
  permissionRequest: null as null | Handler,
  permissionCheck: null as null | Handler,
  headers: null as null | Handler,
  external: [] as string[],
  loaded: [] as string[],
}));

vi.mock('electron', () => {
  class BrowserWindow {
    webContents = {
      on: (event: string, handler: Handler) => recorded.contentsHandlers.set(event, handler),
      setWindowOpenHandler: (handler: Handler) => (recorded.windowOpenHandler = handler),
    };
    constructor(options: { webPreferences: Record<string, unknown> }) {
      recorded.windowOptions = options;
    }
    once(): void {}
    show(): void {}
    loadURL(url: string): Promise<void> {
      recorded.loaded.push(url);
      return Promise.resolve();
    }
  }
  return {
    BrowserWindow,
    shell: { openExternal: (url: string) => recorded.external.push(url) },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (h: Handler) => (recorded.permissionRequest = h),
        setPermissionCheckHandler: (h: Handler) => (recorded.permissionCheck = h),
        webRequest: { onHeadersReceived: (h: Handler) => (recorded.headers = h) },
      },
    },
  };
});

const { createMainWindow, hardenSession, CONTENT_SECURITY_POLICY } = await import('./window');

describe('Electron window security', () => {
  beforeEach(() => {
    recorded.contentsHandlers.clear();
    recorded.external.length = 0;
    createMainWindow({ preload: '/app/out/preload/preload.cjs', rendererDir: '/app/out/renderer' });
  });

  it('isolates the renderer: context isolation and sandbox on, no Node integration', () => {
    expect(recorded.windowOptions?.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      preload: '/app/out/preload/preload.cjs',
    });
    expect(recorded.loaded).toContain('file:///app/out/renderer/index.html');
  });

  it('blocks navigation away from the app', () => {
    const navigate = recorded.contentsHandlers.get('will-navigate')!;
    const external = { preventDefault: vi.fn() };
    navigate(external, 'https://example.com/phish');
    expect(external.preventDefault).toHaveBeenCalled();
    const localFile = { preventDefault: vi.fn() };
    navigate(localFile, 'file:///etc/passwd');
    expect(localFile.preventDefault).toHaveBeenCalled();
    const internal = { preventDefault: vi.fn() };
    navigate(internal, 'file:///app/out/renderer/index.html#runs');
    expect(internal.preventDefault).not.toHaveBeenCalled();
  });

  it('denies every new window, opening https links in the system browser only', () => {
    expect(recorded.windowOpenHandler!({ url: 'https://example.com/docs' })).toEqual({ action: 'deny' });
    expect(recorded.windowOpenHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(recorded.external).toEqual(['https://example.com/docs']);
  });

  it('refuses webviews', () => {
    const event = { preventDefault: vi.fn() };
    recorded.contentsHandlers.get('will-attach-webview')!(event);
    expect(event.preventDefault).toHaveBeenCalled();
  });

  it('denies permission requests and sends a strict CSP with every response', () => {
    hardenSession();
    const callback = vi.fn();
    recorded.permissionRequest!({}, 'media', callback);
    expect(callback).toHaveBeenCalledWith(false);
    expect(recorded.permissionCheck!({}, 'geolocation')).toBe(false);
    const respond = vi.fn();
    recorded.headers!({ responseHeaders: { 'x-other': ['1'] } }, respond);
    const headers = respond.mock.calls[0]![0].responseHeaders as Record<string, string[]>;
    expect(headers['Content-Security-Policy']).toEqual([CONTENT_SECURITY_POLICY]);
    expect(CONTENT_SECURITY_POLICY).toMatch(/default-src 'self'/);
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval/);
  });
});
