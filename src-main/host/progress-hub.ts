// Fans progress events out from services' single onProgress callback to every live listener
// (server-sent event streams, Electron windows, the CLI progress bar).
import type { ProgressEvent } from '../../src-shared/domain.js';

export type ProgressListener = (event: ProgressEvent) => void;

export interface ProgressHub {
  emit(event: ProgressEvent): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: ProgressListener): () => void;
}

export function createProgressHub(): ProgressHub {
  const listeners = new Set<ProgressListener>();
  return {
    emit(event) {
      for (const listener of listeners) {
        // One broken listener (a closed socket) must not stop the others or the work reporting.
        try {
          listener(event);
        } catch (error) {
          console.error('[landmark-studio] progress listener failed:', error);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
