// The one open project the services work on. project.create / project.open replace it.
import { ApiError } from '../../src-shared/api.js';
import type { ProjectStore } from '../store/projectStore.js';

export class ProjectSession {
  private store: ProjectStore | null = null;
  private readonly openListeners: ((store: ProjectStore) => void)[] = [];
  private readonly closeListeners: ((store: ProjectStore) => void)[] = [];
  /** Throws an ApiError when the open project must not be closed now (a run is computing in it). */
  guard: (() => void) | null = null;

  get current(): ProjectStore | null {
    return this.store;
  }

  /** The open project, or ApiError('no_project'). */
  require(): ProjectStore {
    if (!this.store) throw new ApiError('no_project', 'No project is open: create or open a project first.');
    return this.store;
  }

  /** Throws when the open project cannot be replaced now; call before creating the next one. */
  checkReplaceable(): void {
    if (this.store) this.guard?.();
  }

  /** Makes `store` the open project, closing the previous one. */
  replace(store: ProjectStore | null): void {
    if (this.store && this.store !== store) {
      for (const listener of this.closeListeners) listener(this.store);
      this.store.close();
    }
    this.store = store;
    if (store) for (const listener of this.openListeners) listener(store);
  }

  /** Calls `listener` with every project about to be closed. */
  onClose(listener: (store: ProjectStore) => void): void {
    this.closeListeners.push(listener);
  }

  /** Calls `listener` with every project opened from now on. */
  onOpen(listener: (store: ProjectStore) => void): void {
    this.openListeners.push(listener);
  }
}
