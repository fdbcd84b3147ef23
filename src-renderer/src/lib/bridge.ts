// The one way the UI reaches its host: `window.api` from the Electron preload when present,
// otherwise the HTTP client of the plain-Node host.
import type { RendererBridge } from '../../../src-shared/bridge.js';
import { createHttpBridge, takeToken } from './httpBridge.js';

export type Bridge = RendererBridge;

declare global {
  interface Window {
    api?: RendererBridge;
  }
}

let bridge: Bridge | null = null;

export function getBridge(): Bridge {
  bridge ??= window.api ?? createHttpBridge(takeToken(window.location, window.sessionStorage, window.history));
  return bridge;
}
