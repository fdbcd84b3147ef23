// The renderer's `window.api` in Electron: a RendererBridge over IPC. Built as CommonJS for the
// sandbox. Errors cross contextBridge as plain {code, message} objects (custom properties of
// Error objects do not survive it).
import { contextBridge, ipcRenderer } from 'electron';
import type { ApiMethod, ApiRequest, ApiResponse } from '../../src-shared/api.js';
import { IMAGE_PROTOCOL, type ImageKind, type RendererBridge, type WireResult } from '../../src-shared/bridge.js';
import type { ProgressEvent } from '../../src-shared/domain.js';
import { API_CHANNEL, PICK_FILE_CHANNEL, PICK_FOLDER_CHANNEL, PROGRESS_CHANNEL } from './channels.js';

const bridge: RendererBridge = {
  transport: 'electron',

  async call<M extends ApiMethod>(method: M, req: ApiRequest<M>): Promise<ApiResponse<M>> {
    const result = (await ipcRenderer.invoke(API_CHANNEL, method, req)) as WireResult<ApiResponse<M>>;
    if (result.ok) return result.result;
    throw { name: 'ApiError', code: result.error.code, message: result.error.message };
  },

  imageUrl(imageId: number, kind: ImageKind): string {
    return `${IMAGE_PROTOCOL}://${kind}/${imageId}`;
  },

  onProgress(listener: (event: ProgressEvent) => void): () => void {
    const forward = (_event: unknown, progress: ProgressEvent): void => listener(progress);
    ipcRenderer.on(PROGRESS_CHANNEL, forward);
    return () => {
      ipcRenderer.off(PROGRESS_CHANNEL, forward);
    };
  },

  pickFolder(title?: string): Promise<string | null> {
    return ipcRenderer.invoke(PICK_FOLDER_CHANNEL, title) as Promise<string | null>;
  },
  pickFile(options: { title?: string; save?: boolean }): Promise<string | null> {
    return ipcRenderer.invoke(PICK_FILE_CHANNEL, options) as Promise<string | null>;
  },
};

contextBridge.exposeInMainWorld('api', bridge);
