import { app, BrowserWindow, dialog, ipcMain } from 'electron';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ARCHIVE_EXTENSION } from '@shared/model-card';
import { createCore, type Core } from '../core/core';
import { defaultHome } from '../core/workspace/home';
import { appPaths, appVersion } from '../paths';
import { spawnUtilityWorker } from './utility-worker';
import { createMainWindow, hardenSession } from './window';

let core: Core | null = null;

async function start(): Promise<void> {
  hardenSession();
  core = createCore({
    home: defaultHome(),
    mode: 'electron',
    instanceLabel: 'desktop app',
    version: appVersion,
    workerEntry: appPaths.workerEntry,
    importWorkerEntry: appPaths.importWorkerEntry,
    sampleDatasetPath: appPaths.sampleDataset,
    spawnWorker: spawnUtilityWorker,
    // better-sqlite3 is built for Node; Electron needs its own ABI build (scripts/electron-native.mjs).
    nativeBinding: existsSync(appPaths.electronNative) ? appPaths.electronNative : undefined,
  });
  const running = core;
  ipcMain.handle('vae-studio:invoke', (_event, name: unknown, input: unknown) =>
    typeof name === 'string'
      ? running.handle(name, input)
      : { ok: false, error: { code: 'invalid_input', message: 'request name must be a string', details: { field: 'name' } } },
  );
  ipcMain.handle('vae-studio:pick-folder', async (event) => {
    const window = BrowserWindow.fromWebContents(event.sender);
    const options = { title: 'Choose an image folder', properties: ['openDirectory' as const] };
    const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  });
  const modelFilter = [{ name: 'VAE Studio model', extensions: [ARCHIVE_EXTENSION.slice(1)] }];
  ipcMain.handle('vae-studio:pick-save-model', async (event, defaultName: unknown) => {
    const window = BrowserWindow.fromWebContents(event.sender);
    const name = typeof defaultName === 'string' ? basename(defaultName) : `model${ARCHIVE_EXTENSION}`;
    const options = { title: 'Export model', defaultPath: join(app.getPath('documents'), name), filters: modelFilter };
    const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
    return result.canceled ? null : (result.filePath ?? null);
  });
  ipcMain.handle('vae-studio:pick-model-file', async (event) => {
    const window = BrowserWindow.fromWebContents(event.sender);
    const options = { title: 'Import model', properties: ['openFile' as const], filters: modelFilter };
    const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  });
  running.subscribe((message) => {
    for (const window of BrowserWindow.getAllWindows()) window.webContents.send('vae-studio:event', message);
  });
  createMainWindow({ preload: appPaths.preload, rendererDir: appPaths.renderer, devUrl: process.env.ELECTRON_RENDERER_URL });
}

app.enableSandbox();
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => BrowserWindow.getAllWindows()[0]?.focus());
  void app.whenReady().then(start);
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', (event) => {
    if (!core) return;
    event.preventDefault();
    const closing = core;
    core = null;
    void closing.close().finally(() => app.quit());
  });
}
