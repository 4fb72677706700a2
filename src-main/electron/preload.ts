import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { AnyEventMessage, StudioBridge } from '@shared/api';

/**
 * The renderer's only door to the app: two functions, no Node, no ipcRenderer itself.
 * Request names are checked again in main; this side only moves data.
 */
const bridge: StudioBridge = {
  // Run images load from vae-studio-artifact:// URLs the core hands out (electron/artifact-protocol.ts).
  artifactUrls: true,
  invoke: (name, input) => ipcRenderer.invoke('vae-studio:invoke', name, input),
  onEvent: (listener) => {
    const handler = (_event: IpcRendererEvent, message: AnyEventMessage): void => listener(message);
    ipcRenderer.on('vae-studio:event', handler);
    return () => ipcRenderer.removeListener('vae-studio:event', handler);
  },
  pickFolder: () => ipcRenderer.invoke('vae-studio:pick-folder') as Promise<string | null>,
  pickSavePath: (defaultName) => ipcRenderer.invoke('vae-studio:pick-save-model', String(defaultName)) as Promise<string | null>,
  pickModelFile: () => ipcRenderer.invoke('vae-studio:pick-model-file') as Promise<string | null>,
  showImageInFolder: (datasetId, index) => ipcRenderer.invoke('vae-studio:show-image', Number(datasetId), Number(index)) as ReturnType<NonNullable<StudioBridge['showImageInFolder']>>,
  pathForFile: (file) => webUtils.getPathForFile(file),
};

contextBridge.exposeInMainWorld('vaeStudio', bridge);
