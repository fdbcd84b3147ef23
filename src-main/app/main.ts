// Electron main process: wires services to the window (IPC, protocols, progress) and nothing
// more; all behaviour lives in services behind `dispatch`.
// Usage: electron . [project-dir]   (no folder: the start screen shows)
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session } from 'electron';
import { dispatch } from '../../src-shared/api.js';
import { IMAGE_PROTOCOL } from '../../src-shared/bridge.js';
import { createProgressHub } from '../host/progress-hub.js';
import { createRenditionResolver } from '../host/rendition.js';
import { createServices } from '../services/index.js';
import { grantedPaths } from '../services/pathPolicy.js';
import { APP_ORIGIN, APP_PROTOCOL, PROGRESS_CHANNEL } from './channels.js';
import { registerApiIpc, registerDialogIpc, senderCheck } from './ipc.js';
import { menuTemplate } from './menu.js';
import { handleAppRequest, handleImageRequest, PRIVILEGED_SCHEMES } from './protocols.js';
import { createMainWindow } from './window.js';

const outDir = fileURLToPath(new URL('..', import.meta.url)); // out/ (this file is out/main/index.js)
const rendererDir = resolve(outDir, 'renderer');
const preloadPath = resolve(outDir, 'preload', 'index.cjs');
// `electron-vite dev` serves the renderer itself and says where.
const devRendererUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const rendererUrl = devRendererUrl ?? `${APP_ORIGIN}/index.html`;
const rendererOrigin = devRendererUrl ? new URL(devRendererUrl).origin : APP_ORIGIN;

/** The first argument that is not a flag, after Electron's own (`electron .` in development). */
function projectDirArgument(): string | undefined {
  const args = process.argv.slice(app.isPackaged ? 1 : 2);
  return args.find((arg) => !arg.startsWith('-'));
}

protocol.registerSchemesAsPrivileged(PRIVILEGED_SCHEMES);

async function start(): Promise<void> {
  const progress = createProgressHub();
  // The API reaches the open project and what the person picked in a dialog (or named on the command line).
  const granted = grantedPaths('choose it with Browse…');
  const services = createServices({
    onProgress: (event) => progress.emit(event),
    paths: granted.access,
    runQueue: true,
    warmWorker: true,
  });
  progress.subscribe((event) => {
    for (const window of BrowserWindow.getAllWindows()) window.webContents.send(PROGRESS_CHANNEL, event);
  });
  app.on('will-quit', () => services.close());

  const projectDir = projectDirArgument();
  if (projectDir !== undefined) {
    granted.grant(resolve(projectDir));
    await dispatch(services.handlers, 'project.open', { projectDir: resolve(projectDir) }).catch((error: unknown) => {
      dialog.showErrorBox('Cannot open the project', (error as Error).message);
    });
  }

  const resolveRendition = createRenditionResolver(services);
  protocol.handle(IMAGE_PROTOCOL, (request) => handleImageRequest(resolveRendition, request, rendererOrigin));
  protocol.handle(APP_PROTOCOL, (request) => handleAppRequest(rendererDir, request));
  // No camera, microphone, notifications or the like.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));

  const isTrusted = senderCheck([`${APP_ORIGIN}/`, ...(devRendererUrl ? [devRendererUrl] : [])]);
  registerApiIpc(ipcMain, services.handlers, isTrusted);
  registerDialogIpc(ipcMain, dialog, (event) => BrowserWindow.fromWebContents(event.sender), isTrusted, granted.grant);

  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(process.platform)));
  createMainWindow(BrowserWindow, { preload: preloadPath, url: rendererUrl });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0)
      createMainWindow(BrowserWindow, { preload: preloadPath, url: rendererUrl });
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app
  .whenReady()
  .then(start)
  .catch((error: unknown) => {
    console.error('[landmark-studio] start-up failed:', error);
    app.exit(1);
  });
