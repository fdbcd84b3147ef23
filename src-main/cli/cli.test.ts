// The real `landmark-studio` command in child processes, on temporary projects, over the real
// services (and the HTTP host for `serve`).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireResult } from '../../src-shared/bridge.js';
import type { ProjectInfo } from '../../src-shared/domain.js';
import { commands } from './commands/index.js';
import { main } from './main.js';
import { DEMO_SOURCE_DIR } from './paths.js';

const BIN = resolve(import.meta.dirname, '../../bin/landmark-studio.mjs');

let root: string;
let images: string;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, [BIN, ...args], { cwd: root, env }, (error, stdout, stderr) => {
      resolveRun({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The same entry point in this process: for the many usage cases, which start no services. */
async function inProcess(...args: string[]): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = (stream: PassThrough) => {
    let collected = '';
    stream.on('data', (chunk: Buffer) => (collected += chunk.toString()));
    return () => collected;
  };
  const [out, err] = [text(stdout), text(stderr)];
  const code = await main(args, { stdout, stderr, env, cwd: root });
  return { code, stdout: out(), stderr: err() };
}

/** Starts `serve`, resolves once it printed its URL. */
function serve(...args: string[]): Promise<{ child: ChildProcess; url: string; token: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { cwd: root, env });
  let output = '';
  return new Promise((resolveServe, rejectServe) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running at (http:\/\/\S+)\?token=(\S+)/.exec(output);
      if (match) resolveServe({ child, url: match[1]!, token: match[2]!, output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => rejectServe(new Error(`serve exited (${code}) before printing a URL:\n${output}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolveStop) => {
    child.on('exit', (code) => resolveStop(code));
    child.kill('SIGTERM');
  });
}

async function callApi<T>(
  url: string,
  token: string,
  method: string,
  body: unknown = {},
): Promise<{ status: number; body: WireResult<T> }> {
  const res = await fetch(`${url}api/${method}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as WireResult<T> };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ls-cli-'));
  images = join(root, 'images');
  mkdirSync(join(images, 'sub'), { recursive: true });
  for (const [i, name] of ['a.png', 'b.png', 'c.jpg', 'sub/d.png'].entries()) {
    const image = sharp({
      create: { width: 32 + i, height: 24, channels: 3, background: { r: 40 * i, g: 90, b: 160 } },
    });
    await (name.endsWith('.jpg') ? image.jpeg() : image.png()).toFile(join(images, name));
  }
  writeFileSync(join(images, 'broken.png'), 'not an image');
  writeFileSync(
    join(root, 'points.csv'),
    ['image,keypoint,x,y', 'a.png,nose,10,12', 'a.png,tail,20,5', 'b.png,nose,11,13', 'nowhere.png,nose,1,1'].join(
      '\n',
    ),
  );
  env = { ...process.env, LANDMARK_STUDIO_HOME: join(root, 'home') };
  delete env.LANDMARK_STUDIO_DEBUG;
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('usage', () => {
  it('lists every command in --help', async () => {
    const run = await cli('--help');
    expect(run.code).toBe(0);
    for (const command of commands) expect(run.stdout).toContain(`  ${command.name} `);
  });

  it('exits 2 on an unknown command', async () => {
    const run = await cli('frobnicate');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: Unknown command "frobnicate"/);
  });

  it('has --help on every command', async () => {
    for (const command of commands) {
      const run = await inProcess(command.name, '--help');
      expect(run.code, command.name).toBe(0);
      expect(run.stdout).toContain(`Usage: landmark-studio ${command.name}`);
    }
    expect((await inProcess('help', 'import')).stdout).toContain('--config <yaml>');
    expect((await inProcess('help', 'frob')).code).toBe(2);
  });

  it('exits 2 with a clear message on bad usage', async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: landmark-studio <command>/],
      [['frobnicate'], /Unknown command "frobnicate"/],
      [['--verbose'], /Unknown option "--verbose"/],
      [['init', 'p', '--images', images, '--colour', 'red'], /Unknown option '--colour'/],
      [['init'], /Missing <project-dir>/],
      [['init', 'p'], /Missing --images/],
      [['info', 'a', 'b'], /Unexpected argument "b"/],
      [['import', 'p'], /one of --dlc, --coco, --csv/],
      [['import', 'p', '--csv', 'x.csv', '--coco', 'y.json'], /Give only one of/],
      [['import', 'p', '--csv', 'x.csv', '--config', 'c.yaml'], /--config goes with --dlc only/],
      [['serve', '--port', 'eighty'], /Invalid --port "eighty"/],
      [['serve', 'p', '--empty'], /either a project folder or --empty/],
      [['serve', '--empty', '--allow', 'no-such-folder'], /--allow no-such-folder: .* is not a folder/],
      [['serve', '--empty', '--host', '0.0.0.0'], /only the served project is allowed: .* --allow/],
    ];
    for (const [args, message] of cases) {
      const run = await inProcess(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('project commands', () => {
  it('init scans the images with progress on stderr', async () => {
    const run = await cli('init', 'proj', '--images', 'images', '--name', 'Mice');
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Created project "Mice" in ${join(root, 'proj')}`);
    expect(run.stdout).toMatch(/images:\s+5 \(0 labeled, 1 with problems\)/);
    // Not a terminal: plain lines, no carriage-return redraws.
    expect(run.stderr).toMatch(/^scan 5\/5 \(100%\)/m);
    expect(run.stderr).not.toContain('\r');
  });

  it('import reports points, new keypoints and unmatched references', async () => {
    const run = await cli('import', 'proj', '--csv', 'points.csv');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Imported 3 points on 2 images');
    expect(run.stdout).toMatch(/new keypoints: nose, tail/);
    expect(run.stderr).toMatch(/1 image references match no project image:\n\s+nowhere\.png/);
  });

  it('info prints counts and problems, or JSON', async () => {
    const text = await cli('info', 'proj');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/images:\s+5 \(2 labeled, 1 with problems\)/);
    expect(text.stdout).toMatch(/broken\.png: /);
    const json = await cli('info', 'proj', '--json');
    const parsed = JSON.parse(json.stdout) as {
      project: ProjectInfo;
      schema: { keypoints: unknown[] };
      problems: unknown[];
    };
    expect(parsed.project.counts).toMatchObject({
      images: 5,
      labeledImages: 2,
      annotations: 3,
      problems: 1,
      keypoints: 2,
    });
    expect(parsed.schema.keypoints).toHaveLength(2);
    expect(parsed.problems).toHaveLength(1);
  });

  it('export writes a file that imports back into another project', async () => {
    const exported = await cli('export', 'proj', '--csv', 'out.csv');
    expect(exported.code).toBe(0);
    expect(existsSync(join(root, 'out.csv'))).toBe(true);
    expect((await cli('init', 'copy', '--images', 'images')).code).toBe(0);
    const imported = await cli('import', 'copy', '--csv', 'out.csv');
    expect(imported.stdout).toContain('Imported 3 points on 2 images');
  });

  it('export replaces an existing file only with --overwrite', async () => {
    writeFileSync(join(root, 'taken.csv'), 'kept');
    const refused = await cli('export', 'proj', '--csv', 'taken.csv');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/taken\.csv already exists/);
    expect(readFileSync(join(root, 'taken.csv'), 'utf8')).toBe('kept');
    expect((await cli('export', 'proj', '--csv', 'taken.csv', '--overwrite')).code).toBe(0);
    expect(readFileSync(join(root, 'taken.csv'), 'utf8')).toMatch(/^image,keypoint,x,y/);
  });

  it('exits 1 with the service message when the work fails', async () => {
    const [again, notProject, missingFile] = await Promise.all([
      cli('init', 'proj', '--images', 'images'),
      cli('info', 'images'),
      cli('import', 'proj', '--coco', 'missing.json'),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: A project already exists/m);
    expect(notProject.code).toBe(1);
    expect(notProject.stderr).toMatch(/^error: No project in/m);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toMatch(/missing\.json/);
  });
});

describe('serve', () => {
  it('serves a project over HTTP with a token and stops on SIGTERM', async () => {
    const server = await serve('proj');
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const info = await callApi<ProjectInfo>(server.url, server.token, 'project.info');
      expect(info.status).toBe(200);
      expect(info.body).toMatchObject({ ok: true, result: { name: 'Mice', counts: { annotations: 3 } } });
      const denied = await fetch(`${server.url}api/project.info`, { method: 'POST' });
      expect(denied.status).toBe(401);
      const list = await callApi<{ items: { id: number; relPath: string }[] }>(
        server.url,
        server.token,
        'images.list',
        {},
      );
      const a = list.body.ok ? list.body.result.items.find((item) => item.relPath === 'a.png') : undefined;
      const image = await fetch(`${server.url}image/${a!.id}?token=${server.token}`);
      expect(image.status).toBe(200);
      expect((await sharp(Buffer.from(await image.arrayBuffer())).metadata()).width).toBe(32);
      const thumb = await fetch(`${server.url}thumb/${a!.id}?token=${server.token}`);
      expect(thumb.headers.get('content-type')).toBe('image/jpeg');
      expect((await fetch(`${server.url}image/9999?token=${server.token}`)).status).toBe(404);
    } finally {
      expect(await stop(server.child)).toBe(0);
    }
  });

  it('uses a given token', async () => {
    const token = 'my-own-long-token-123';
    const server = await serve('proj', '--token', token);
    try {
      expect(server.token).toBe(token);
      expect((await callApi(server.url, token, 'project.info')).status).toBe(200);
    } finally {
      await stop(server.child);
    }
  });

  it('lets the API use the served project, the --allow folders or else the current folder, nothing else', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'ls-cli-outside-'));
    mkdirSync(join(root, 'shared-in'));
    const exportTo = async (server: { url: string; token: string }, file: string) =>
      (await callApi(server.url, server.token, 'io.export', { format: 'csv', file })).body;
    const byDefault = await serve('proj');
    try {
      expect(await exportTo(byDefault, join(root, 'served.csv'))).toMatchObject({ ok: true });
      expect(await exportTo(byDefault, join(outside, 'x.csv'))).toMatchObject({
        ok: false,
        error: { code: 'not_allowed' },
      });
    } finally {
      await stop(byDefault.child);
    }
    const restricted = await serve('proj', '--allow', 'shared-in');
    try {
      expect(await exportTo(restricted, join(root, 'shared-in', 'a.csv'))).toMatchObject({ ok: true });
      expect(await exportTo(restricted, join(root, 'proj', 'b.csv'))).toMatchObject({ ok: true });
      expect(await exportTo(restricted, join(root, 'c.csv'))).toMatchObject({
        ok: false,
        error: { code: 'not_allowed' },
      });
    } finally {
      await stop(restricted.child);
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('starts with no project when --empty', async () => {
    const server = await serve('--empty');
    try {
      expect(server.output()).toContain('No project open');
      const info = await callApi(server.url, server.token, 'project.info');
      expect(info.status).toBe(409);
      expect(info.body).toMatchObject({ ok: false, error: { code: 'no_project' } });
    } finally {
      await stop(server.child);
    }
  });

  it.skipIf(!existsSync(join(DEMO_SOURCE_DIR, 'labels.json')))(
    'opens the demo project, labeled, creating it once in $LANDMARK_STUDIO_HOME',
    async () => {
      const first = await serve();
      let info: { status: number; body: WireResult<ProjectInfo> };
      try {
        info = await callApi<ProjectInfo>(first.url, first.token, 'project.info');
      } finally {
        await stop(first.child);
      }
      expect(info.body.ok && info.body.result.dir).toBe(join(root, 'home', 'demo'));
      expect(info.body.ok && info.body.result.counts.labeledImages).toBeGreaterThan(0);
      const marker = readFileSync(join(root, 'home', 'demo', '.demo-ready'), 'utf8');
      const second = await serve();
      try {
        const again = await callApi<ProjectInfo>(second.url, second.token, 'project.info');
        expect(again.body).toEqual(info.body);
      } finally {
        await stop(second.child);
      }
      expect(readFileSync(join(root, 'home', 'demo', '.demo-ready'), 'utf8')).toBe(marker);
    },
  );
});
