// The one test command (`npm test`): unit and integration tests (vitest), then the end-to-end
// tests (Playwright against the plain-Node host in Debian chromium), then one closing line
// `Summary: N passed, N failed, N skipped` over both. Exit code 1 if anything failed or nothing ran.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const outDir = join(root, '.test-output');
const args = new Set(process.argv.slice(2));
const only = args.has('--unit') ? 'unit' : args.has('--e2e') ? 'e2e' : 'all';

function run(command, commandArgs, env = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status ?? 1;
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`could not read test results ${file}: ${error.message}`);
    return null;
  }
}

const totals = { passed: 0, failed: 0, skipped: 0 };
let crashed = false;
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

if (only !== 'e2e') {
  const unitJson = join(outDir, 'unit.json');
  const status = run('npx', [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${unitJson}`,
  ]);
  const report = existsSync(unitJson) ? readJson(unitJson) : null;
  if (report) {
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + (report.numTodoTests ?? 0);
    // A suite that fails to load has no tests in the counts: count it as a failure.
    totals.failed += report.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0).length;
  }
  if (status !== 0 && (!report || report.numFailedTests === 0)) crashed = true;
}

if (only !== 'unit') {
  // playwright.config.ts writes its JSON report here (Playwright clears test-results/ first).
  const e2eJson = join(root, 'test-results', 'e2e.json');
  rmSync(e2eJson, { force: true });
  let status = run('npx', ['electron-vite', 'build']);
  if (status === 0) status = run('npx', ['playwright', 'test']);
  const report = existsSync(e2eJson) ? readJson(e2eJson) : null;
  if (report) {
    totals.passed += report.stats.expected + report.stats.flaky;
    totals.failed += report.stats.unexpected;
    totals.skipped += report.stats.skipped;
  }
  if (status !== 0 && (!report || report.stats.unexpected === 0)) crashed = true;
}

if (crashed) totals.failed += 1;
console.log(`\nSummary: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || totals.passed === 0 ? 1 : 0);
