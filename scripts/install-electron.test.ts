import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installElectron, LATER_COMMAND } from './install-electron.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'install-electron-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A stand-in for electron's install.js with the given body. */
function fakeInstall(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, body);
  return file;
}

describe('install-electron', () => {
  it('prints one line naming the failure, what works without Electron and how to get it later', () => {
    // What electron's install.js prints offline: the error's stack, then exit 1.
    const script = fakeInstall(
      'offline.js',
      `console.error('RequestError: getaddrinfo ENOTFOUND github.com\\n    at ClientRequest.<anonymous> (got/index.js:970:111)'); process.exit(1);`,
    );
    const line = installElectron(script);
    expect(line).not.toBeNull();
    expect(line!.split('\n')).toHaveLength(1);
    expect(line).toContain('RequestError: getaddrinfo ENOTFOUND github.com');
    expect(line).toContain('`npm run serve`');
    expect(line).toContain('the tests');
    expect(line).toContain(LATER_COMMAND);
    expect(line).not.toContain('ClientRequest');
  });

  it('is silent when the download works', () => {
    expect(installElectron(fakeInstall('ok.js', 'process.exit(0);'))).toBeNull();
  });

  it("is what npm runs after install, with electron's own script (which stops npm on failure) skipped", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      allowScripts: Record<string, boolean>;
    };
    expect(pkg.allowScripts.electron).toBe(false);
    expect(pkg.scripts.postinstall).toContain('node scripts/install-electron.mjs');
    expect(LATER_COMMAND).toBe('node node_modules/electron/install.js');
  });
});
