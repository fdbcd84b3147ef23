import type { IpcMainInvokeEvent } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { apiMethods, type ApiHandlers } from '../../src-shared/api.js';
import type { WireResult } from '../../src-shared/bridge.js';
import { API_CHANNEL, APP_ORIGIN, PICK_FILE_CHANNEL, PICK_FOLDER_CHANNEL } from './channels.js';
import { registerApiIpc, registerDialogIpc, senderCheck } from './ipc.js';

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

function fakeIpcMain(): { handle: (channel: string, handler: Handler) => void; handlers: Map<string, Handler> } {
  const handlers = new Map<string, Handler>();
  return { handlers, handle: (channel, handler) => handlers.set(channel, handler) };
}

const fromApp = { senderFrame: { url: `${APP_ORIGIN}/index.html` } } as unknown as IpcMainInvokeEvent;
const fromElsewhere = { senderFrame: { url: 'https://example.com/' } } as unknown as IpcMainInvokeEvent;
const isTrusted = senderCheck([`${APP_ORIGIN}/`]);

/** Handlers that record the request they received and echo it back. */
function recordingHandlers(): { handlers: ApiHandlers; calls: [string, unknown][] } {
  const calls: [string, unknown][] = [];
  const handlers = Object.fromEntries(
    apiMethods.map((method) => [
      method,
      (req: unknown) => {
        calls.push([method, req]);
        return { echoed: req };
      },
    ]),
  ) as unknown as ApiHandlers;
  return { handlers, calls };
}

describe('API over IPC', () => {
  it('reaches every API method through dispatch', async () => {
    const ipcMain = fakeIpcMain();
    const { handlers } = recordingHandlers();
    registerApiIpc(ipcMain, handlers, isTrusted);
    const handle = ipcMain.handlers.get(API_CHANNEL)!;
    for (const method of apiMethods) {
      // An unknown field is refused by every (strict) schema: the reply names the method, so
      // each method was recognised and validated, not passed through.
      const reply = (await handle(fromApp, method, { notAField: 1 })) as WireResult;
      expect(reply, method).toMatchObject({ ok: false, error: { code: 'invalid' } });
      expect(!reply.ok && reply.error.message, method).toContain(`Invalid request for ${method}`);
    }
  });

  it('passes a valid payload to the handler (defaults filled in) and replies with the result', async () => {
    const ipcMain = fakeIpcMain();
    const { handlers, calls } = recordingHandlers();
    registerApiIpc(ipcMain, handlers, isTrusted);
    const reply = await ipcMain.handlers.get(API_CHANNEL)!(fromApp, 'images.list', { filter: 'labeled' });
    const parsed = { filter: 'labeled', offset: 0, limit: 1000 };
    expect(calls).toEqual([['images.list', parsed]]);
    expect(reply).toEqual({ ok: true, result: { echoed: parsed } });
  });

  it('replies with errors for unknown methods and invalid payloads, without calling handlers', async () => {
    const ipcMain = fakeIpcMain();
    const { handlers, calls } = recordingHandlers();
    registerApiIpc(ipcMain, handlers, isTrusted);
    const handle = ipcMain.handlers.get(API_CHANNEL)!;
    expect(await handle(fromApp, 'fs.readFile', {})).toMatchObject({
      ok: false,
      error: { code: 'invalid', message: expect.stringContaining('Unknown API method') },
    });
    expect(await handle(fromApp, 'annotations.set', { imageId: 1, keypointId: 1, x: -5, y: 2 })).toMatchObject({
      ok: false,
      error: { code: 'invalid', message: expect.stringContaining('x') },
    });
    expect(calls).toEqual([]);
  });

  it('refuses calls from frames that are not the app', async () => {
    const ipcMain = fakeIpcMain();
    const { handlers, calls } = recordingHandlers();
    registerApiIpc(ipcMain, handlers, isTrusted);
    const reply = await ipcMain.handlers.get(API_CHANNEL)!(fromElsewhere, 'project.info', {});
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect(calls).toEqual([]);
  });
});

describe('dialogs over IPC', () => {
  const window = {} as Electron.BrowserWindow;

  it('returns the chosen folder, granted to the path policy, or null when cancelled', async () => {
    const ipcMain = fakeIpcMain();
    const dialog = {
      showOpenDialog: vi
        .fn()
        .mockResolvedValueOnce({ canceled: false, filePaths: ['/data/frames'] })
        .mockResolvedValueOnce({ canceled: true, filePaths: [] }),
      showSaveDialog: vi.fn(),
    };
    const grant = vi.fn();
    registerDialogIpc(ipcMain, dialog, () => window, isTrusted, grant);
    const pick = ipcMain.handlers.get(PICK_FOLDER_CHANNEL)!;
    expect(await pick(fromApp, 'Image folder')).toBe('/data/frames');
    expect(dialog.showOpenDialog).toHaveBeenLastCalledWith(
      window,
      expect.objectContaining({ title: 'Image folder', properties: expect.arrayContaining(['openDirectory']) }),
    );
    expect(await pick(fromApp)).toBeNull();
    expect(grant.mock.calls).toEqual([['/data/frames']]);
  });

  it('picks a file to read or a file to save, and grants only what was picked', async () => {
    const ipcMain = fakeIpcMain();
    const dialog = {
      showOpenDialog: vi.fn().mockResolvedValueOnce({ canceled: false, filePaths: ['/data/labels.json'] }),
      showSaveDialog: vi
        .fn()
        .mockResolvedValueOnce({ canceled: false, filePath: '/data/out.csv' })
        .mockResolvedValueOnce({ canceled: true, filePath: '' }),
    };
    const grant = vi.fn();
    registerDialogIpc(ipcMain, dialog, () => window, isTrusted, grant);
    const pick = ipcMain.handlers.get(PICK_FILE_CHANNEL)!;
    expect(await pick(fromApp, { title: 'Label file' })).toBe('/data/labels.json');
    expect(dialog.showOpenDialog).toHaveBeenLastCalledWith(
      window,
      expect.objectContaining({ title: 'Label file', properties: ['openFile'] }),
    );
    expect(await pick(fromApp, { title: 'Export to', save: true })).toBe('/data/out.csv');
    expect(await pick(fromApp, { save: true })).toBeNull();
    expect(grant.mock.calls).toEqual([['/data/labels.json'], ['/data/out.csv']]);
  });

  it('opens no dialog and grants nothing for frames that are not the app', async () => {
    const ipcMain = fakeIpcMain();
    const dialog = { showOpenDialog: vi.fn(), showSaveDialog: vi.fn() };
    const grant = vi.fn();
    registerDialogIpc(ipcMain, dialog, () => window, isTrusted, grant);
    expect(await ipcMain.handlers.get(PICK_FOLDER_CHANNEL)!(fromElsewhere)).toBeNull();
    expect(await ipcMain.handlers.get(PICK_FILE_CHANNEL)!(fromElsewhere, { save: true })).toBeNull();
    expect(dialog.showOpenDialog).not.toHaveBeenCalled();
    expect(dialog.showSaveDialog).not.toHaveBeenCalled();
    expect(grant).not.toHaveBeenCalled();
  });
});
