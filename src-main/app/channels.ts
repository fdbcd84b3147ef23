// Names shared by the Electron main process and the preload (bundled into both).

/** ipcRenderer.invoke(API_CHANNEL, method, payload) -> WireResult; the method is validated by dispatch. */
export const API_CHANNEL = 'api:call';
/** main -> renderer: one ProgressEvent per message. */
export const PROGRESS_CHANNEL = 'api:progress';
/** ipcRenderer.invoke(PICK_FOLDER_CHANNEL, title?) -> absolute folder path or null. */
export const PICK_FOLDER_CHANNEL = 'dialog:pick-folder';
/** ipcRenderer.invoke(PICK_FILE_CHANNEL, {title?, save?}) -> absolute file path or null. */
export const PICK_FILE_CHANNEL = 'dialog:pick-file';

/** The protocol serving the built renderer, so it gets a real origin and a CSP header. */
export const APP_PROTOCOL = 'lsapp';
export const APP_ORIGIN = `${APP_PROTOCOL}://renderer`;
