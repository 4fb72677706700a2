import { app, BrowserWindow, dialog, ipcMain, protocol, shell } from 'electron';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ARCHIVE_EXTENSION } from '@shared/model-card';
import { createCore, type Core } from '../core/core';
import { toApiError } from '../core/errors';
import { DATABASE_DAMAGED, restoreDatabase } from '../core/store/backup';
import { acquireWorkspaceLock } from '../core/workspace/lock';
import { defaultHome } from '../core/workspace/home';
import { appPaths, appVersion } from '../paths';
import { handleArtifacts, registerArtifactScheme } from './artifact-protocol';
import { revealImage } from './reveal';
import { spawnUtilityWorker } from './utility-worker';
import { createMainWindow, hardenSession } from './window';

let core: Core | null = null;

/**
 * The workspace could not be opened. A damaged database is explained, with the offer to
 * put back its newest good backup (then the app starts again); anything else is shown
 * as it is. Either way the app does not go on without its workspace.
 */
function cannotOpen(error: unknown): void {
  const shape = toApiError(error);
  const backup = shape.details?.reason === DATABASE_DAMAGED && typeof shape.details.backup === 'string' ? shape.details.backup : null;
  if (backup === null) {
    dialog.showErrorBox('VAE Studio cannot open its workspace', shape.message);
    app.exit(1);
    return;
  }
  const answer = dialog.showMessageBoxSync({
    type: 'error',
    title: 'The workspace database is damaged',
    message: 'VAE Studio found its database damaged and changed nothing.',
    detail: shape.message,
    buttons: ['Restore the backup', 'Quit'],
    defaultId: 0,
    cancelId: 1,
  });
  if (answer === 0) {
    try {
      const home = defaultHome();
      const lock = acquireWorkspaceLock(home, 'desktop app: restoring a backup');
      try {
        restoreDatabase(join(home, 'studio.db'), backup, coreOptions().nativeBinding);
      } finally {
        lock.release();
      }
      app.relaunch();
    } catch (restoreError) {
      dialog.showErrorBox('The backup could not be restored', toApiError(restoreError).message);
    }
  }
  app.exit(answer === 0 ? 0 : 1);
}

async function start(): Promise<void> {
  hardenSession();
  try {
    core = createCore(coreOptions());
  } catch (error) {
    cannotOpen(error);
    return;
  }
  startWith(core);
}

function coreOptions(): Parameters<typeof createCore>[0] {
  return {
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
  };
}

function startWith(running: Core): void {
  handleArtifacts(protocol, running);
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
  ipcMain.handle('vae-studio:show-image', (_event, datasetId: unknown, index: unknown) => revealImage(running, shell, datasetId, index));
  running.subscribe((message) => {
    for (const window of BrowserWindow.getAllWindows()) window.webContents.send('vae-studio:event', message);
  });
  createMainWindow({ preload: appPaths.preload, rendererDir: appPaths.renderer, devUrl: process.env.ELECTRON_RENDERER_URL });
}

app.enableSandbox();
registerArtifactScheme(protocol);
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
