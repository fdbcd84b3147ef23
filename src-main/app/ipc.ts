// IPC for the renderer: the whole API on one channel (the method name goes through `dispatch`
// like on every other transport) and the native file and folder dialogs. What the person picks
// in a dialog is granted to the API's path policy: the renderer cannot name a path itself.
// Messages from frames that are not the app's own renderer are refused.
import type { BrowserWindow, Dialog, IpcMain, IpcMainInvokeEvent } from 'electron';
import type { ApiHandlers } from '../../src-shared/api.js';
import type { WireResult } from '../../src-shared/bridge.js';
import { dispatchToWire } from '../host/wire.js';
import { API_CHANNEL, PICK_FILE_CHANNEL, PICK_FOLDER_CHANNEL } from './channels.js';

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

function dialogTitle(title: unknown, fallback: string): string {
  return typeof title === 'string' ? title.slice(0, 200) : fallback;
}

export function registerDialogIpc(
  ipcMain: Pick<IpcMain, 'handle'>,
  dialog: Pick<Dialog, 'showOpenDialog' | 'showSaveDialog'>,
  windowOf: (event: IpcMainInvokeEvent) => BrowserWindow | null,
  isTrusted: (event: IpcMainInvokeEvent) => boolean,
  grant: (path: string) => void,
): void {
  /** The path the person picked, granted; null when cancelled or refused. */
  async function pick(
    event: IpcMainInvokeEvent,
    show: (window: BrowserWindow) => Promise<string | undefined>,
  ): Promise<string | null> {
    const window = windowOf(event);
    if (!isTrusted(event) || window === null) return null;
    const picked = await show(window);
    if (!picked) return null;
    grant(picked);
    return picked;
  }

  ipcMain.handle(PICK_FOLDER_CHANNEL, (event, title: unknown) =>
    pick(event, async (window) => {
      const result = await dialog.showOpenDialog(window, {
        title: dialogTitle(title, 'Choose a folder'),
        properties: ['openDirectory', 'createDirectory'],
      });
      return result.canceled ? undefined : result.filePaths[0];
    }),
  );
  ipcMain.handle(PICK_FILE_CHANNEL, (event, request: unknown) => {
    const { title, save } = (typeof request === 'object' && request !== null ? request : {}) as {
      title?: unknown;
      save?: unknown;
    };
    return pick(event, async (window) => {
      if (save === true) {
        const result = await dialog.showSaveDialog(window, {
          title: dialogTitle(title, 'Save as'),
          properties: ['createDirectory', 'showOverwriteConfirmation'],
        });
        return result.canceled ? undefined : result.filePath;
      }
      const result = await dialog.showOpenDialog(window, {
        title: dialogTitle(title, 'Choose a file'),
        properties: ['openFile'],
      });
      return result.canceled ? undefined : result.filePaths[0];
    });
  });
}
