import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from '@playwright/test';
import { E2E_PORT, E2E_TOKEN } from './e2e/host.js';

// The folder the tests' projects, images and exports live in. Made here, not in globalSetup:
// the host starts before globalSetup runs and must be allowed to use it (serve --allow). Workers
// inherit it through the environment.
process.env.E2E_ROOT ??= mkdtempSync(join(tmpdir(), 'landmark-e2e-'));
const e2eRoot = process.env.E2E_ROOT;

// End-to-end tests drive the built renderer in Debian's chromium against the real plain-Node host
// (`landmark-studio serve --empty`) and services. `npm run test:e2e` builds the renderer first.
// One host serves every test, so tests run one at a time; each creates its own project.
export default defineConfig({
  testDir: 'e2e',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  globalSetup: './e2e/global-setup.ts',
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    viewport: { width: 1400, height: 860 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: `node bin/landmark-studio.mjs serve --empty --port ${E2E_PORT} --token ${E2E_TOKEN} --allow ${JSON.stringify(e2eRoot)}`,
    url: `http://127.0.0.1:${E2E_PORT}/`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
