// IPC for the renderer: the whole API on one channel (the method name goes through `dispatch`
// like on every other transport) and the native folder dialog. Messages from frames that are
// not the app's own renderer are refused.
import type { BrowserWindow, Dialog, IpcMain, IpcMainInvokeEvent } from 'electron';
import type { ApiHandlers } from '../../src-shared/api.js';
import type { WireResult } from '../../src-shared/bridge.js';
import { dispatchToWire } from '../host/wire.js';
import { API_CHANNEL, PICK_FOLDER_CHANNEL } from './channels.js';

/** True when the message comes from a page loaded from one of these URL prefixes. */
export function senderCheck(trustedPrefixes: readonly string[]): (event: IpcMainInvokeEvent) => boolean {
  return (event) => {
    const url = event.senderFrame?.url ?? '';
    return trustedPrefixes.some((prefix) => url.startsWith(prefix));
  };
}

const UNTRUSTED: WireResult = {
  ok: false,
  error: { code: 'invalid', message: 'Refused: the request does not come from the Landmark Studio window.' },
};

export function registerApiIpc(
  ipcMain: Pick<IpcMain, 'handle'>,
  handlers: ApiHandlers,
  isTrusted: (event: IpcMainInvokeEvent) => boolean,
): void {
  ipcMain.handle(API_CHANNEL, (event, method: unknown, payload: unknown) =>
    isTrusted(event) ? dispatchToWire(handlers, method, payload) : UNTRUSTED,
  );
}

export function registerDialogIpc(
  ipcMain: Pick<IpcMain, 'handle'>,
  dialog: Pick<Dialog, 'showOpenDialog'>,
  windowOf: (event: IpcMainInvokeEvent) => BrowserWindow | null,
  isTrusted: (event: IpcMainInvokeEvent) => boolean,
): void {
  ipcMain.handle(PICK_FOLDER_CHANNEL, async (event, title: unknown): Promise<string | null> => {
    const window = windowOf(event);
    if (!isTrusted(event) || window === null) return null;
    const result = await dialog.showOpenDialog(window, {
      title: typeof title === 'string' ? title.slice(0, 200) : 'Choose a folder',
      properties: ['openDirectory', 'createDirectory'],
    });
    return result.canceled ? null : (result.filePaths[0] ?? null);
  });
}
