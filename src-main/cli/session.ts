// Services for one CLI command, called through `dispatch` like every other transport, with
// their progress fanned out (to the progress bar, and to /events when serving).
import { resolve } from 'node:path';
import { dispatch, type ApiClient, type ApiMethod, type ApiRequest, type ApiResponse } from '../../src-shared/api.js';
import type { ProjectInfo } from '../../src-shared/domain.js';
import { createProgressHub, type ProgressHub } from '../host/progress-hub.js';
import { createServices, type Services } from '../services/index.js';
import { ANYWHERE, type PathAccess } from '../services/pathPolicy.js';

export interface Session extends ApiClient {
  services: Services;
  progress: ProgressHub;
  /** Opens the project folder given on the command line (relative to the working directory). */
  openProject(projectDir: string): Promise<ProjectInfo>;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Where API paths may point; by default anywhere (the person typed them on their own machine). */
  paths?: PathAccess;
  /** Execute the project's run queue (serve does; one-shot commands run their work directly). */
  runQueue?: boolean;
  /** Keep a job worker started ahead (serve does: long-lived, jobs come often). */
  warmWorker?: boolean;
}

export function openSession(cwd: string, options: SessionOptions = {}): Session {
  const progress = createProgressHub();
  const services = createServices({
    onProgress: (event) => progress.emit(event),
    paths: options.paths ?? ANYWHERE,
    runQueue: options.runQueue,
    warmWorker: options.warmWorker,
  });
  const call = <M extends ApiMethod>(method: M, req: ApiRequest<M>) =>
    dispatch(services.handlers, method, req) as Promise<ApiResponse<M>>;
  return {
    services,
    progress,
    call,
    openProject: (projectDir) => call('project.open', { projectDir: resolve(cwd, projectDir) }),
    close: async () => {
      await services.close();
    },
  };
}
