// The main window: isolated, sandboxed renderer without Node, which may neither open other
// windows nor navigate away from the app.
import type { BrowserWindow as BrowserWindowClass, WebPreferences } from 'electron';

export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
} as const satisfies WebPreferences;

export function createMainWindow(
  BrowserWindow: typeof BrowserWindowClass,
  options: { preload: string; url: string },
): BrowserWindowClass {
  const window = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 800,
    minHeight: 560,
    show: false,
    title: 'Landmark Studio',
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload: options.preload },
  });
  const appPrefix = new URL('.', options.url).href;
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  window.webContents.on('will-navigate', (event, target) => {
    if (!target.startsWith(appPrefix)) event.preventDefault();
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(options.url);
  return window;
}
