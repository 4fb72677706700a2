import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { AnyEventMessage, StudioBridge } from '@shared/api';

/**
 * The renderer's only door to the app: two functions, no Node, no ipcRenderer itself.
 * Request names are checked again in main; this side only moves data.
 */
const bridge: StudioBridge = {
  invoke: (name, input) => ipcRenderer.invoke('vae-studio:invoke', name, input),
  onEvent: (listener) => {
    const handler = (_event: IpcRendererEvent, message: AnyEventMessage): void => listener(message);
    ipcRenderer.on('vae-studio:event', handler);
    return () => ipcRenderer.removeListener('vae-studio:event', handler);
  },
};

contextBridge.exposeInMainWorld('vaeStudio', bridge);
