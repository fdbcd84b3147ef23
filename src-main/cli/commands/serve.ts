import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ProjectInfo } from '../../../src-shared/domain.js';
import { startHost } from '../../host/server.js';
import type { PathAccess } from '../../services/pathPolicy.js';
import { stringListOption, stringOption, UsageError, type Command } from '../command.js';
import { demoProjectDir, openDemoProject } from '../demo-project.js';
import { RENDERER_DIR } from '../paths.js';

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`Invalid --port "${text}": expected 0-65535.`, 'serve');
  return port;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * Where API paths may point besides the open project: the served project's folder, and the
 * --allow folders; without --allow, the folder serve was started from when only this machine
 * can connect, nothing more when others can.
 */
function servedPaths(options: { allow: string[]; cwd: string; host: string; project: string | null }): PathAccess {
  const allow = options.allow.map((dir) => {
    const folder = resolve(options.cwd, dir);
    if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory())
      throw new UsageError(`--allow ${dir}: ${folder} is not a folder.`, 'serve');
    return folder;
  });
  const defaults = allow.length > 0 || !isLoopback(options.host) ? [] : [options.cwd];
  const roots = [...allow, ...defaults, ...(options.project === null ? [] : [options.project])];
  if (roots.length === 0) {
    throw new UsageError(
      `With --host ${options.host} only the served project is allowed: name a project folder, or give --allow <dir>.`,
      'serve',
    );
  }
  return { roots: () => roots, hint: 'restart serve with --allow <folder> to allow another folder' };
}

/** Resolves on Ctrl+C or a termination request, so the host and the database close cleanly. */
function untilStopped(): Promise<void> {
  return new Promise((resolveStop) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the app to a browser (the demo project when no folder is named).',
  positionals: [{ name: 'project-dir', optional: true, description: 'the project folder (default: the demo project)' }],
  options: {
    port: { type: 'string', value: '<n>', description: 'TCP port (default: a free one)' },
    host: { type: 'string', value: '<host>', description: 'address to bind (default 127.0.0.1: this machine only)' },
    token: { type: 'string', value: '<token>', description: 'access token, 16+ characters (default: a random one)' },
    empty: { type: 'boolean', description: 'open no project: the start screen shows' },
    allow: {
      type: 'string',
      multiple: true,
      value: '<dir>',
      description: 'a folder the API may read and write in (repeatable); default: the current folder on 127.0.0.1',
    },
  },
  details: [
    'Prints the URL to open, with its access token. Every API, image and event request needs',
    'the token. Stop with Ctrl+C. The demo project lives in $LANDMARK_STUDIO_HOME/demo',
    '(default ~/.landmark-studio/demo).',
    'Paths in requests (import, export, new projects, image folders) must lie in the open',
    "project's folder or image folder, the served project's folder, or an --allow folder. Without",
    '--allow: also the current folder when listening on this machine only (127.0.0.1), nothing',
    'more with another --host. See docs/security.md.',
  ].join('\n'),
  async run(args, ctx) {
    const port = parsePort(stringOption(args, 'port'));
    const host = stringOption(args, 'host') ?? '127.0.0.1';
    const token = stringOption(args, 'token');
    const projectDir = args.positionals[0];
    if (args.options.empty === true && projectDir !== undefined) {
      throw new UsageError('Give either a project folder or --empty, not both.', 'serve');
    }
    const paths = servedPaths({
      allow: stringListOption(args, 'allow'),
      cwd: ctx.io.cwd,
      host,
      project:
        projectDir !== undefined
          ? resolve(ctx.io.cwd, projectDir)
          : args.options.empty === true
            ? null
            : demoProjectDir(ctx.io.env),
    });
    await ctx.withSession(
      async (session) => {
        let project: ProjectInfo | null = null;
        if (projectDir !== undefined) project = await session.openProject(projectDir);
        else if (args.options.empty !== true) project = await openDemoProject(session, ctx.io.env);

        const rendererBuilt = existsSync(join(RENDERER_DIR, 'index.html'));
        if (!rendererBuilt) {
          ctx.warn(
            'warning: the user interface is not built (out/renderer): serving the API only; `npm run serve` builds it.',
          );
        }
        const running = await startHost({
          services: session.services,
          progress: session.progress,
          port,
          host,
          rendererDir: rendererBuilt ? RENDERER_DIR : null,
          ...(token === undefined ? {} : { token }),
        });
        if (!isLoopback(host)) {
          ctx.warn(
            `warning: listening on ${host}: anyone who can reach this machine and has the token can use the API.`,
          );
        }
        ctx.print(project ? `Project "${project.name}" in ${project.dir}` : 'No project open: the start screen shows.');
        ctx.print(`Landmark Studio is running at ${running.url}?token=${running.token}`);
        ctx.print('Press Ctrl+C to stop.');
        await untilStopped();
        await running.close();
      },
      { paths, runQueue: true, warmWorker: true },
    );
  },
};
