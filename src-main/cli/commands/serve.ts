import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ProjectInfo } from '../../../src-shared/domain.js';
import { startHost } from '../../host/server.js';
import { stringOption, UsageError, type Command } from '../command.js';
import { openDemoProject } from '../demo-project.js';
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
  },
  details: [
    'Prints the URL to open, with its access token. Every API, image and event request needs',
    'the token. Stop with Ctrl+C. The demo project lives in $LANDMARK_STUDIO_HOME/demo',
    '(default ~/.landmark-studio/demo).',
  ].join('\n'),
  async run(args, ctx) {
    const port = parsePort(stringOption(args, 'port'));
    const host = stringOption(args, 'host') ?? '127.0.0.1';
    const token = stringOption(args, 'token');
    const projectDir = args.positionals[0];
    if (args.options.empty === true && projectDir !== undefined) {
      throw new UsageError('Give either a project folder or --empty, not both.', 'serve');
    }
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
      { runQueue: true },
    );
  },
};
