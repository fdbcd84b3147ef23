import type { BrowserWindow as BrowserWindowClass, BrowserWindowConstructorOptions } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { createMainWindow } from './window.js';

/** Records what createMainWindow asks of Electron's BrowserWindow. */
class FakeWindow {
  static created: FakeWindow[] = [];
  readonly listeners = new Map<string, (...args: unknown[]) => unknown>();
  openHandler: (() => { action: string }) | null = null;
  loaded: string | null = null;
  readonly webContents = {
    setWindowOpenHandler: (handler: () => { action: string }) => {
      this.openHandler = handler;
    },
    on: (name: string, listener: (...args: unknown[]) => unknown) => this.listeners.set(name, listener),
  };
  constructor(readonly options: BrowserWindowConstructorOptions) {
    FakeWindow.created.push(this);
  }
  once = vi.fn();
  show = vi.fn();
  loadURL = vi.fn(async (url: string) => {
    this.loaded = url;
  });
}

function makeWindow(url = 'lsapp://renderer/index.html'): FakeWindow {
  createMainWindow(FakeWindow as unknown as typeof BrowserWindowClass, { preload: '/app/out/preload/index.cjs', url });
  return FakeWindow.created.at(-1)!;
}

describe('main window', () => {
  it('isolates and sandboxes the renderer, without Node', () => {
    const prefs = makeWindow().options.webPreferences!;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: '/app/out/preload/index.cjs',
    });
  });

  it('loads the app URL and denies new windows', () => {
    const window = makeWindow();
    expect(window.loaded).toBe('lsapp://renderer/index.html');
    expect(window.openHandler?.()).toEqual({ action: 'deny' });
  });

  it('blocks navigation away from the app, allows it within', () => {
    const navigate = makeWindow().listeners.get('will-navigate')!;
    for (const [target, blocked] of [
      ['https://example.com/', true],
      ['file:///etc/passwd', true],
      ['lsapp://renderer-evil/index.html', true],
      ['lsapp://renderer/index.html', false],
    ] as const) {
      const event = { preventDefault: vi.fn() };
      navigate(event, target);
      expect(event.preventDefault, target).toHaveBeenCalledTimes(blocked ? 1 : 0);
    }
  });
});
