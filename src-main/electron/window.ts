import { BrowserWindow, session, shell } from 'electron';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { ARTIFACT_SCHEME } from '../core/api/artifact-file';

export const CONTENT_SECURITY_POLICY =
  `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: ${ARTIFACT_SCHEME}:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`;

export const WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  spellcheck: false,
} as const;

/** Locks the default session down: CSP on every response, every permission request denied. */
export function hardenSession(): void {
  session.defaultSession.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
}

export function createMainWindow(options: { preload: string; rendererDir: string; devUrl?: string }): BrowserWindow {
  const window = new BrowserWindow({
    width: 1360,
    height: 880,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'VAE Studio',
    backgroundColor: '#111418',
    webPreferences: { ...WEB_PREFERENCES, preload: options.preload },
  });
  const appUrl = options.devUrl ?? pathToFileURL(join(options.rendererDir, 'index.html')).href;
  // Only the app's own pages: the dev server, or files inside the built renderer folder.
  const base = options.devUrl ?? `${pathToFileURL(options.rendererDir).href}/`;
  const ours = (url: string): boolean => url.startsWith(base) && !/\/\.\.(\/|$)|%2e%2e/i.test(url);
  window.webContents.on('will-navigate', (event, url) => {
    if (!ours(url)) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(({ url }) => {
    // Links to documentation open in the user's browser; nothing opens inside the app.
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-attach-webview', (event) => event.preventDefault());
  window.once('ready-to-show', () => window.show());
  void window.loadURL(appUrl);
  return window;
}
