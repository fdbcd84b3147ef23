// The API implementation behind every transport (Electron IPC, the HTTP host, the CLI, tests).
// Transports call `dispatch(services.handlers, method, payload)` from src-shared/api.ts, which
// validates the payload before any handler runs. One project is open at a time.
import path from 'node:path';
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type { ImageKind } from '../../src-shared/bridge.js';
import type { ProgressEvent } from '../../src-shared/domain.js';
import { annotationsHandlers } from './annotationsService.js';
import { imagesHandlers } from './imagesService.js';
import { ioHandlers } from './ioService.js';
import { matchingHandlers } from './matchingService.js';
import { createPathPolicy, PROJECT_ONLY, type PathAccess } from './pathPolicy.js';
import { openProject, projectHandlers } from './projectService.js';
import { workerEntry } from '../jobs/executeRun.js';
import { SpareWorker, type WorkerEntry } from '../jobs/runner.js';
import { createRenditions } from './renditions.js';
import { reviewHandlers } from './reviewService.js';
import { runsHandlers } from './runsService.js';
import { schemaHandlers } from './schemaService.js';
import { ProjectSession } from './session.js';
import { splitHandlers } from './splitService.js';

export interface ServicesOptions {
  /** A project to open at once (throws like project.open when it cannot be opened). */
  projectDir?: string;
  onProgress?: (e: ProgressEvent) => void;
  /** Execute the project's run queue in this process (the app and the host; not the CLI). */
  runQueue?: boolean;
  /** Test seam: the worker script jobs run in. */
  jobEntry?: WorkerEntry;
  /**
   * Keep a job worker started ahead, its compute engine loaded, so a run or a match does not
   * wait for TensorFlow to start (the app and `serve`: long-lived, jobs come often).
   */
  warmWorker?: boolean;
  /**
   * Where request paths may point beyond the open project's folder and image folder (see
   * pathPolicy.ts); default: nowhere else.
   */
  paths?: PathAccess;
}

export interface Services {
  handlers: ApiHandlers; // every method of src-shared/api.ts
  /** A browser-displayable rendition (EXIF applied; tif/bmp converted; crop items cut) of an image: 'full' for labeling, 'thumb' (<=160 px JPEG) for the list. Only ever returns files inside the image root or the project's cache/. */
  imageRendition(imageId: number, kind: ImageKind): Promise<{ path: string; mime: string }>;
  currentProjectDir(): string | null;
  close(): void;
}

export function createServices(options: ServicesOptions = {}): Services {
  const session = new ProjectSession();
  const policy = createPathPolicy(options.paths ?? PROJECT_ONLY, () => {
    const store = session.current;
    return store ? [store.dir, store.settings.require('imageRoot')] : [];
  });
  const project = projectHandlers(session, policy, options.onProgress);
  const baseEntry = options.jobEntry ?? workerEntry();
  const spare = options.warmWorker ? new SpareWorker(baseEntry) : undefined;
  const jobEntry: WorkerEntry = spare ? { ...baseEntry, spare } : baseEntry;
  const handlers: ApiHandlers = {
    ...project,
    ...imagesHandlers(session),
    ...schemaHandlers(session),
    ...annotationsHandlers(session),
    ...ioHandlers(session, policy),
    ...splitHandlers(session),
    ...reviewHandlers(session),
    ...runsHandlers(session, policy, options.onProgress, { runQueue: options.runQueue, entry: jobEntry }),
    ...matchingHandlers(session, { entry: jobEntry }),
  };
  // The caller's own choice (a command-line argument, a test), so not checked by the policy.
  if (options.projectDir !== undefined) openProject(session, path.resolve(options.projectDir));
  const rendition = createRenditions(session);
  return {
    handlers,
    imageRendition: async (imageId, kind) => {
      if (!Number.isSafeInteger(imageId) || imageId < 1) throw new ApiError('invalid', `Invalid image id ${imageId}.`);
      return rendition(imageId, kind);
    },
    currentProjectDir: () => session.current?.dir ?? null,
    close: () => {
      spare?.close();
      session.replace(null);
    },
  };
}
