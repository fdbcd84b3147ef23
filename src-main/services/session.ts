// The one open project the services work on. project.create / project.open replace it.
import { ApiError } from '../../src-shared/api.js';
import type { ProjectStore } from '../store/projectStore.js';

export class ProjectSession {
  private store: ProjectStore | null = null;

  get current(): ProjectStore | null {
    return this.store;
  }

  /** The open project, or ApiError('no_project'). */
  require(): ProjectStore {
    if (!this.store) throw new ApiError('no_project', 'No project is open: create or open a project first.');
    return this.store;
  }

  /** Makes `store` the open project, closing the previous one. */
  replace(store: ProjectStore | null): void {
    if (this.store && this.store !== store) this.store.close();
    this.store = store;
  }
}
