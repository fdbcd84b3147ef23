// The path policy through the real services: what a caller of the API (a page with the serve
// token, a compromised renderer) can and cannot read or write. Services here allow the open
// project plus one folder, `allowed`; `outside` is a sibling folder standing for the rest of the
// machine, holding a "system" file.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dispatch } from '../../src-shared/api.js';
import { isInside } from './confinedPath.js';
import { createServices, type Services, type ServicesOptions } from './index.js';
import { grantedPaths, resolveRealPath } from './pathPolicy.js';
import { apiError, labelingProject, workspace, type Workspace } from './testing/fixtures.js';

const SECRET = 'root:x:0:0:s3cr3t-hunter2:/root:/bin/bash';

let ws: Workspace;
let allowed: string;
let outside: string;
let systemFile: string;
let services: Services;

const call = (method: string, payload: unknown) => dispatch(services.handlers, method, payload);

/** The services of a session that may use the open project and `allowed` only. */
function restrictedServices(options: ServicesOptions = {}): Services {
  return createServices({
    projectDir: ws.projectDir,
    paths: { roots: () => [allowed], hint: 'test: only the project and the allowed folder' },
    ...options,
  });
}

beforeEach(async () => {
  ws = workspace('ls-policy-');
  const made = await labelingProject(ws, 2, ['nose']);
  await made.call('annotations.set', { imageId: made.images[0]!.id, keypointId: made.keypoints[0]!.id, x: 5, y: 6 });
  made.services.close();
  allowed = path.join(ws.dir, 'allowed');
  outside = path.join(ws.dir, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  systemFile = path.join(outside, 'passwd');
  writeFileSync(systemFile, `${SECRET}\nsecond line\n`);
  services = restrictedServices();
});

afterEach(() => {
  services.close();
  ws.cleanup();
});

describe('export', () => {
  it('refuses a file outside the allowed folders, absolute or through ../, and writes nothing', async () => {
    const escaping = path.relative(process.cwd(), path.join(outside, 'x.json'));
    for (const file of [path.join(outside, 'x.json'), escaping, path.join(allowed, '..', 'outside', 'y.json')]) {
      const error = await apiError(call('io.export', { format: 'labels', file }));
      expect(error.code, file).toBe('not_allowed');
      expect(error.message, file).toContain(path.resolve(file));
    }
    expect(readdirSync(outside)).toEqual(['passwd']);
  });

  it('never replaces a file outside, even when asked to overwrite', async () => {
    const error = await apiError(call('io.export', { format: 'csv', file: systemFile, overwrite: true }));
    expect(error.code).toBe('not_allowed');
    expect(readFileSync(systemFile, 'utf8')).toContain(SECRET);
  });

  it('writes inside the allowed folder and the project, and replaces a file only with overwrite', async () => {
    const file = path.join(allowed, 'labels.csv');
    expect(await call('io.export', { format: 'csv', file })).toEqual({ file, count: 1 });
    const first = readFileSync(file, 'utf8');
    writeFileSync(file, 'kept');
    const error = await apiError(call('io.export', { format: 'csv', file }));
    expect(error.code).toBe('conflict');
    expect(error.message).toContain('overwrite');
    expect(readFileSync(file, 'utf8')).toBe('kept');
    await call('io.export', { format: 'csv', file, overwrite: true });
    expect(readFileSync(file, 'utf8')).toBe(first);
    await call('io.export', { format: 'coco', file: path.join(ws.projectDir, 'coco.json') });
    // Written through a temporary file that is gone afterwards.
    expect(readdirSync(allowed)).toEqual(['labels.csv']);
  });

  it('refuses a symbolic link inside that points outside, also one to a file not yet there', async () => {
    symlinkSync(systemFile, path.join(allowed, 'link.csv'));
    symlinkSync(path.join(outside, 'created-by-attacker'), path.join(allowed, 'dangling.csv'));
    symlinkSync(outside, path.join(allowed, 'dir-link'));
    for (const name of ['link.csv', 'dangling.csv', path.join('dir-link', 'new.csv')]) {
      const error = await apiError(
        call('io.export', { format: 'csv', file: path.join(allowed, name), overwrite: true }),
      );
      expect(error.code, name).toBe('not_allowed');
    }
    expect(readdirSync(outside)).toEqual(['passwd']);
    expect(readFileSync(systemFile, 'utf8')).toContain(SECRET);
  });

  it('rejects NUL bytes and control characters in the path as invalid requests, and stays usable', async () => {
    for (const file of [`${allowed}/a\u0000.csv`, `${allowed}/a\nb.csv`, `${allowed}/\ud800.csv`]) {
      const error = await apiError(call('io.export', { format: 'csv', file }));
      expect(error.code, JSON.stringify(file)).toBe('invalid');
      expect(error.message).toContain('file');
    }
    await call('io.export', { format: 'csv', file: path.join(allowed, 'after.csv') });
    expect(readdirSync(allowed)).toEqual(['after.csv']);
  });
});

describe('import', () => {
  it('refuses a file outside with the same answer whether it exists or not, without its content', async () => {
    const existing = await apiError(call('io.import', { format: 'csv', file: systemFile }));
    const missing = await apiError(call('io.import', { format: 'csv', file: path.join(outside, 'shadow') }));
    for (const error of [existing, missing]) {
      expect(error.code).toBe('not_allowed');
      expect(error.message).not.toContain('s3cr3t');
    }
    expect(missing.message.replace('shadow', 'passwd')).toBe(existing.message);
    const linked = path.join(allowed, 'innocent.csv');
    symlinkSync(systemFile, linked);
    expect((await apiError(call('io.import', { format: 'csv', file: linked }))).code).toBe('not_allowed');
    writeFileSync(path.join(allowed, 'x.csv'), 'scorer\n');
    const config = await apiError(
      call('io.import', { format: 'dlc', file: path.join(allowed, 'x.csv'), configFile: systemFile }),
    );
    expect(config.code).toBe('not_allowed');
  });

  it('fails on a file inside that is not a label file without echoing any of it, in every format', async () => {
    const secrets = {
      'passwd.txt': `${SECRET}\n`,
      'env.txt': `API_KEY=s3cr3t-hunter2\nPASSWORD=s3cr3t-hunter2\n`,
      'quoted.csv': `"s3cr3t-hunter2"x,image\n`,
      'string.json': `"s3cr3t-hunter2"`,
      'object.json': `{"token": "s3cr3t-hunter2", "names": "s3cr3t-hunter2", "categories": "s3cr3t-hunter2"}`,
      'broken.json': `{"token": s3cr3t-hunter2}`,
      'yaml.txt': `key: [s3cr3t-hunter2\n`,
    };
    for (const [name, text] of Object.entries(secrets)) writeFileSync(path.join(allowed, name), text);
    for (const format of ['csv', 'dlc', 'coco', 'labels'] as const) {
      for (const name of Object.keys(secrets)) {
        const error = await apiError(call('io.import', { format, file: path.join(allowed, name) }));
        expect(error.code, `${format} ${name}`).toBe('invalid');
        expect(error.message, `${format} ${name}`).toContain(name);
        expect(error.message, `${format} ${name}: ${error.message}`).not.toMatch(/s3cr3t|hunter|API_KEY|root:x/);
      }
    }
    const yaml = await apiError(
      call('io.import', {
        format: 'dlc',
        file: path.join(allowed, 'passwd.txt'),
        configFile: path.join(allowed, 'yaml.txt'),
      }),
    );
    expect(yaml.message).not.toMatch(/s3cr3t|hunter/);
  });
});

describe('projects and folders', () => {
  it('refuses to create, open or relink outside, and to pretrain on a folder outside', async () => {
    const other = path.join(outside, 'project');
    const refused: [string, unknown][] = [
      ['project.create', { projectDir: path.join(allowed, 'p'), imageRoot: outside }],
      ['project.create', { projectDir: other, imageRoot: ws.imageRoot }],
      ['project.open', { projectDir: outside }],
      ['project.relink', { imageRoot: outside }],
      ['runs.pretrain', { folder: outside, epochs: 1 }],
    ];
    for (const [method, payload] of refused)
      expect((await apiError(call(method, payload))).code, JSON.stringify(payload)).toBe('not_allowed');
    expect(existsSync(other)).toBe(false);
    expect((await call('project.info', {})) as { imageRoot: string }).toMatchObject({ imageRoot: ws.imageRoot });
  });

  it('creates a project in the allowed folder over the image folder of the open project', async () => {
    const dir = path.join(allowed, 'second');
    const info = (await call('project.create', { projectDir: dir, imageRoot: ws.imageRoot })) as { dir: string };
    expect(info.dir).toBe(dir);
    // The new project's folders are now the open project's: its own image folder is usable.
    expect(await call('project.relink', { imageRoot: ws.imageRoot })).toMatchObject({ missing: [] });
  });

  it('allows nothing beyond the open project by default', async () => {
    services.close();
    services = createServices({ projectDir: ws.projectDir });
    expect((await apiError(call('io.export', { format: 'csv', file: path.join(allowed, 'x.csv') }))).code).toBe(
      'not_allowed',
    );
    await call('io.export', { format: 'csv', file: path.join(ws.projectDir, 'labels.csv') });
    expect(existsSync(path.join(ws.projectDir, 'labels.csv'))).toBe(true);
  });
});

describe('resolving and granting', () => {
  it('tells a child named ..x from a parent', () => {
    expect(isInside('/a', '/a/..x')).toBe(true);
    expect(isInside('/a', '/a')).toBe(true);
    expect(isInside('/a', '/a/../b')).toBe(false);
    expect(isInside('/a', '/ab')).toBe(false);
  });

  it('resolves files still to be created through the links of their parents', async () => {
    symlinkSync(outside, path.join(allowed, 'out-link'));
    expect(await resolveRealPath(path.join(allowed, 'out-link', 'new', 'file.csv'))).toBe(
      path.join(outside, 'new', 'file.csv'),
    );
    symlinkSync(path.join(allowed, 'loop'), path.join(allowed, 'loop'));
    expect((await apiError(resolveRealPath(path.join(allowed, 'loop')))).message).toMatch(/symbolic links/);
  });

  it('grants a picked path and what lies inside it, nothing beside it', async () => {
    const granted = grantedPaths('pick it');
    services.close();
    services = createServices({ projectDir: ws.projectDir, paths: granted.access });
    const file = path.join(outside, 'picked.csv');
    expect((await apiError(call('io.export', { format: 'csv', file }))).code).toBe('not_allowed');
    granted.grant(file);
    await call('io.export', { format: 'csv', file });
    expect(existsSync(file)).toBe(true);
    expect((await apiError(call('io.export', { format: 'csv', file: `${file}2` }))).code).toBe('not_allowed');
  });
});
