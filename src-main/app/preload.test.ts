import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RendererBridge } from '../../src-shared/bridge.js';
import { API_CHANNEL, PICK_FOLDER_CHANNEL, PROGRESS_CHANNEL } from './channels.js';

const { exposed, ipcRenderer } = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  ipcRenderer: { invoke: vi.fn(), on: vi.fn(), off: vi.fn() },
}));
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => exposed.set(key, value) },
  ipcRenderer,
}));

let api: RendererBridge;
beforeAll(async () => {
  await import('./preload.js');
  api = exposed.get('api') as RendererBridge;
});

describe('preload bridge', () => {
  it('exposes window.api for the electron transport', () => {
    expect(api.transport).toBe('electron');
  });

  it('sends calls on the API channel and unwraps results', async () => {
    ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, result: { total: 0, items: [] } });
    await expect(api.call('images.list', { filter: 'labeled' })).resolves.toEqual({ total: 0, items: [] });
    expect(ipcRenderer.invoke).toHaveBeenLastCalledWith(API_CHANNEL, 'images.list', { filter: 'labeled' });
  });

  it('rejects with {code, message} so the code survives contextBridge', async () => {
    ipcRenderer.invoke.mockResolvedValueOnce({
      ok: false,
      error: { code: 'confirm_required', message: 'Confirm first.' },
    });
    await expect(api.call('keypoints.delete', { id: 1 })).rejects.toEqual({
      name: 'ApiError',
      code: 'confirm_required',
      message: 'Confirm first.',
    });
  });

  it('builds image protocol URLs', () => {
    expect(api.imageUrl(42, 'full')).toBe('lsimg://full/42');
    expect(api.imageUrl(7, 'thumb')).toBe('lsimg://thumb/7');
  });

  it('forwards progress events and unsubscribes', () => {
    const listener = vi.fn();
    const unsubscribe = api.onProgress(listener);
    const [channel, forward] = ipcRenderer.on.mock.calls.at(-1) as [string, (e: unknown, p: unknown) => void];
    expect(channel).toBe(PROGRESS_CHANNEL);
    forward({}, { task: 'scan', done: 1, total: 2 });
    expect(listener).toHaveBeenCalledWith({ task: 'scan', done: 1, total: 2 });
    unsubscribe();
    expect(ipcRenderer.off).toHaveBeenCalledWith(PROGRESS_CHANNEL, forward);
  });

  it('asks the main process for a folder', async () => {
    ipcRenderer.invoke.mockResolvedValueOnce('/data/mice');
    await expect(api.pickFolder!('Image folder')).resolves.toBe('/data/mice');
    expect(ipcRenderer.invoke).toHaveBeenLastCalledWith(PICK_FOLDER_CHANNEL, 'Image folder');
  });
});
