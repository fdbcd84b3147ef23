// The Electron main process with 'electron' mocked: what it registers, and a payload from the
// renderer flowing through IPC -> dispatch -> the real services and back, images through the
// lsimg protocol, progress to the window.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpcMainInvokeEvent } from 'electron';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WireResult } from '../../src-shared/bridge.js';
import type { ImageSummary, ProjectInfo } from '../../src-shared/domain.js';
import { createServices } from '../services/index.js';
import { ANYWHERE } from '../services/pathPolicy.js';
import { API_CHANNEL, APP_ORIGIN, PICK_FILE_CHANNEL, PROGRESS_CHANNEL } from './channels.js';

type Handler = (...args: unknown[]) => unknown;

const electron = vi.hoisted(() => {
  const ipcHandlers = new Map<string, Handler>();
  const protocolHandlers = new Map<string, (request: Request) => Promise<Response>>();
  const windows: { options: unknown; webContents: { send: ReturnType<typeof vi.fn> } }[] = [];
  class BrowserWindow {
    readonly webContents = { send: vi.fn(), setWindowOpenHandler: vi.fn(), on: vi.fn() };
    constructor(readonly options: unknown) {
      windows.push(this);
    }
    static getAllWindows = () => windows;
    static fromWebContents = () => windows[0] ?? null;
    once = vi.fn();
    loadURL = vi.fn(async () => {});
  }
  return {
    ipcHandlers,
    protocolHandlers,
    windows,
    module: {
      app: { isPackaged: false, whenReady: vi.fn(async () => {}), on: vi.fn(), quit: vi.fn(), exit: vi.fn() },
      protocol: {
        registerSchemesAsPrivileged: vi.fn(),
        handle: vi.fn((scheme: string, handler: (request: Request) => Promise<Response>) =>
          protocolHandlers.set(scheme, handler),
        ),
      },
      ipcMain: { handle: vi.fn((channel: string, handler: Handler) => ipcHandlers.set(channel, handler)) },
      dialog: { showOpenDialog: vi.fn(), showSaveDialog: vi.fn(), showErrorBox: vi.fn() },
      Menu: { buildFromTemplate: vi.fn((template: unknown) => template), setApplicationMenu: vi.fn() },
      session: { defaultSession: { setPermissionRequestHandler: vi.fn() } },
      BrowserWindow,
    },
  };
});
vi.mock('electron', () => electron.module);

const fromApp = { senderFrame: { url: `${APP_ORIGIN}/index.html` }, sender: {} } as unknown as IpcMainInvokeEvent;
let root: string;
const savedArgv = process.argv;

function api<T>(method: string, payload: unknown): Promise<WireResult<T>> {
  return electron.ipcHandlers.get(API_CHANNEL)!(fromApp, method, payload) as Promise<WireResult<T>>;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ls-electron-'));
  mkdirSync(join(root, 'images'));
  for (const name of ['one.png', 'two.png']) {
    await sharp({ create: { width: 12, height: 9, channels: 3, background: '#884422' } })
      .png()
      .toFile(join(root, 'images', name));
  }
  // A project made beforehand, named on the command line like `electron . <project-dir>`.
  const services = createServices({ paths: ANYWHERE });
  await services.handlers['project.create']({ projectDir: join(root, 'project'), imageRoot: join(root, 'images') });
  services.close();
  process.argv = [process.execPath, '.', join(root, 'project')];
  await import('./main.js');
  await vi.waitFor(() => expect(electron.windows).toHaveLength(1));
});

afterAll(() => {
  const quit = electron.module.app.on.mock.calls.find(([name]) => name === 'will-quit');
  (quit?.[1] as (() => void) | undefined)?.(); // closes the services, like quitting the app
  process.argv = savedArgv;
  rmSync(root, { recursive: true, force: true });
});

describe('Electron main process', () => {
  it('registers the protocols privileged before the app is ready', () => {
    const { protocol, app } = electron.module;
    const schemes = protocol.registerSchemesAsPrivileged.mock.calls[0]![0] as { scheme: string; privileges: object }[];
    expect(schemes.map((s) => s.scheme).sort()).toEqual(['lsapp', 'lsimg']);
    for (const scheme of schemes) expect(scheme.privileges).toMatchObject({ standard: true, secure: true });
    expect(protocol.registerSchemesAsPrivileged.mock.invocationCallOrder[0]!).toBeLessThan(
      app.whenReady.mock.invocationCallOrder[0]!,
    );
    expect([...electron.protocolHandlers.keys()].sort()).toEqual(['lsapp', 'lsimg']);
  });

  it('opens one secure window on the app protocol', () => {
    const window = electron.windows[0] as unknown as {
      options: { webPreferences: object };
      loadURL: ReturnType<typeof vi.fn>;
    };
    expect(window.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    });
    expect(window.loadURL).toHaveBeenCalledWith(`${APP_ORIGIN}/index.html`);
    expect(electron.module.session.defaultSession.setPermissionRequestHandler).toHaveBeenCalled();
  });

  it('opened the project named on the command line', async () => {
    const info = await api<ProjectInfo>('project.info', {});
    expect(info).toMatchObject({ ok: true, result: { dir: join(root, 'project'), counts: { images: 2 } } });
    expect(electron.module.dialog.showErrorBox).not.toHaveBeenCalled();
  });

  it('carries payloads through dispatch to the services and errors back', async () => {
    const added = await api<{ keypoints: { name: string }[] }>('keypoints.add', { name: 'beak' });
    expect(added).toMatchObject({ ok: true, result: { keypoints: [{ name: 'beak' }] } });
    expect(await api('keypoints.add', { name: '' })).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect(await api('images.get', { imageId: 4242 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await api('shell.exec', {})).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });

  it('serves images through lsimg:// and refuses ids that do not exist', async () => {
    const list = await api<{ items: ImageSummary[] }>('images.list', {});
    const id = list.ok ? list.result.items[0]!.id : 0;
    const handle = electron.protocolHandlers.get('lsimg')!;
    const full = await handle(new Request(`lsimg://full/${id}`));
    expect(full.status).toBe(200);
    expect((await sharp(Buffer.from(await full.arrayBuffer())).metadata()).width).toBe(12);
    const thumb = await handle(new Request(`lsimg://thumb/${id}`));
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    expect((await handle(new Request('lsimg://full/999999'))).status).toBe(404);
  });

  it('sends progress events to the window', async () => {
    const send = electron.windows[0]!.webContents.send;
    send.mockClear();
    const relinked = await api('project.relink', { imageRoot: join(root, 'images') });
    expect(relinked).toMatchObject({ ok: true });
    expect(send).toHaveBeenCalledWith(PROGRESS_CHANNEL, expect.objectContaining({ task: 'scan', total: 2 }));
  });

  it('lets the renderer use paths the person picked in a dialog and the project folder, no others', async () => {
    mkdirSync(join(root, 'picked'));
    const picked = join(root, 'picked', 'labels.csv');
    expect(await api('io.export', { format: 'csv', file: picked })).toMatchObject({
      ok: false,
      error: { code: 'not_allowed' },
    });
    electron.module.dialog.showSaveDialog.mockResolvedValueOnce({ canceled: false, filePath: picked });
    expect(await electron.ipcHandlers.get(PICK_FILE_CHANNEL)!(fromApp, { save: true })).toBe(picked);
    expect(await api('io.export', { format: 'csv', file: picked })).toMatchObject({ ok: true });
    expect(await api('io.export', { format: 'csv', file: join(root, 'project', 'labels.csv') })).toMatchObject({
      ok: true,
    });
    expect(await api('io.export', { format: 'csv', file: join(root, 'elsewhere.csv') })).toMatchObject({
      ok: false,
      error: { code: 'not_allowed' },
    });
  });
});
