#!/usr/bin/env node
// Gives `npm install` the native TensorFlow backend, online or offline (DESIGN "Compute").
//
// package.json "allowScripts" stops @tensorflow/tfjs-node's own install script, which downloads
// libtensorflow 2.9.1 from storage.googleapis.com and so fails on offline machines. This
// postinstall step does its work instead:
//   1. tfjs-node already loads and computes        -> done (fast path, ~1 s).
//   2. the package folder is missing (npm 10 ignores allowScripts and deletes a failed optional
//      dependency)                                  -> `npm install --no-save --ignore-scripts`.
//   3. the download host answers                   -> the package's own install (download + build).
//   4. otherwise (offline): take the TensorFlow C library and C API headers out of the
//      tensorflow-cpu wheel that pip fetches from the machine's configured index, put them where
//      the binding's binding.gyp looks, and build the binding from source with node-gyp.
//   5. tfjs-node-gpu only when `nvidia-smi` works; never fails the install.
// If nothing gives a working native backend it warns that the slow cpu fallback will be used and
// exits 0, unless LANDMARK_STUDIO_REQUIRE_NATIVE=1 (CI), then it exits 1.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const TFJS_VERSION = '4.22.0';
export const TF_WHEEL_REQUIREMENT = 'tensorflow-cpu==2.21.0';
/** libtensorflow version the tfjs-node binding's install script checks for (deps-constants.js). */
export const BINDING_LIBTENSORFLOW_VERSION = '2.9.1';
/** Header trees of the wheel the binding's C API includes need (tensorflow/c and what it includes). */
export const HEADER_PREFIXES = [
  'tensorflow/include/tensorflow/c/',
  'tensorflow/include/tensorflow/core/platform/',
  'tensorflow/include/tsl/platform/',
  'tensorflow/include/xla/tsl/c/',
  'tensorflow/include/xla/tsl/platform/',
];
export const WHEEL_LIBRARIES = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'];
const DOWNLOAD_HOST = 'storage.googleapis.com';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Wheel members to extract and where each goes under the extraction folder: the two shared
 * libraries into lib/, the C API header trees into include/ (as binding.gyp's include dir).
 * Returns [member, relativeDestination] pairs.
 */
export function wheelExtractionPlan(names) {
  const plan = [];
  for (const name of names) {
    if (WHEEL_LIBRARIES.includes(name)) plan.push([name, `lib/${path.posix.basename(name)}`]);
    else if (!name.endsWith('/') && HEADER_PREFIXES.some((p) => name.startsWith(p))) {
      plan.push([name, `include/${name.slice('tensorflow/include/'.length)}`]);
    }
  }
  return plan;
}

/**
 * Files in the binding's deps/lib: the two real libraries under their sonames (what the dynamic
 * loader looks for) plus the names binding.gyp links against (-ltensorflow, -ltensorflow_framework)
 * and the versioned name its install script tests to skip the download.
 * Returns [linkName, target] pairs; target is a file name in the same folder.
 */
export function libraryLinks(version = BINDING_LIBTENSORFLOW_VERSION) {
  return [
    ['libtensorflow.so', 'libtensorflow_cc.so.2'],
    [`libtensorflow.so.${version}`, 'libtensorflow_cc.so.2'],
    ['libtensorflow_framework.so', 'libtensorflow_framework.so.2'],
    [`libtensorflow_framework.so.${version}`, 'libtensorflow_framework.so.2'],
  ];
}

/** Where downloaded wheels and extracted libraries are kept between installs. */
export function cacheDir(env = process.env, home = os.homedir()) {
  if (env.LANDMARK_STUDIO_CACHE) return path.resolve(env.LANDMARK_STUDIO_CACHE);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(home, '.cache');
  return path.join(base, 'landmark-studio');
}

/**
 * The Node headers node-gyp needs, without a download: npm's `nodedir` when npm set it, else the
 * prefix of the running node when it ships include/node (Debian, nvm, official tarballs).
 */
export function localNodeDir(env = process.env, execPath = process.execPath) {
  if (env.npm_config_nodedir) return env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

// ---------------------------------------------------------------------------------------------

const log = (msg) => console.log(`[provision-tensorflow] ${msg}`);
const warn = (msg) => console.warn(`[provision-tensorflow] WARNING: ${msg}`);

/** The line of a failed child's output that says why (its first error line, else its last line). */
export function failureReason(output) {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /\b(error|cannot|failed)\b/i.test(l)) ?? lines.at(-1) ?? 'no output';
}

function packageDir(name) {
  return path.join(repoRoot, 'node_modules', ...name.split('/'));
}

function run(cmd, args, { cwd = repoRoot, env = process.env, timeoutMs = 15 * 60_000, quiet = false } = {}) {
  const res = spawnSync(cmd, args, { cwd, env, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  const ok = res.status === 0 && !res.error;
  // Build logs are long: show the end of one only when the step failed.
  if (!quiet && !ok && output.trim())
    console.log(output.trim().split('\n').slice(-40).join('\n').replace(/^/gm, '    '));
  const why = res.error ? res.error.message : res.signal ? `killed by ${res.signal}` : `exit code ${res.status}`;
  return { ok, output, why };
}

/** Loads the package in a child process (a broken native module may crash) and runs a conv. */
function verify(pkg) {
  const script = `
    const tf = require(${JSON.stringify(pkg)});
    // d/dw of sum(conv(ones 4x4, 3x3 'same')): each tap counts the outputs it reaches,
    // 16 (centre) + 4 x 12 (edges) + 4 x 9 (corners) = 100 per input channel.
    const x = tf.ones([1, 4, 4, 2]);
    const w = tf.ones([3, 3, 2, 1]);
    const g = tf.grad((w) => tf.conv2d(x, w, 1, 'same').sum())(w);
    const s = g.sum().dataSync()[0];
    if (tf.getBackend() !== 'tensorflow' || Math.abs(s - 200) > 1e-3) throw new Error('wrong result ' + s + ' on ' + tf.getBackend());
    console.log('ok ' + tf.version.tfjs);`;
  const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
  return run(process.execPath, ['-e', script], { env, timeoutMs: 120_000, quiet: true });
}

function hostReachable(host, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const req = https.request({ host, method: 'HEAD', path: '/', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** PATH and npm variables that let node-pre-gyp find node-gyp and Node's headers offline. */
function buildEnv() {
  const env = { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' };
  env.PATH = [path.join(repoRoot, 'node_modules', '.bin'), env.PATH].join(path.delimiter);
  const nodeDir = localNodeDir(env);
  if (nodeDir) env.npm_config_nodedir = nodeDir;
  if (!env.npm_config_node_gyp) {
    const npmDir = path.dirname(path.dirname(fs.realpathSync(findOnPath('npm') ?? process.execPath)));
    const candidate = path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(candidate)) env.npm_config_node_gyp = candidate;
  }
  return env;
}

function findOnPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

function ensurePackageFolder(pkg) {
  if (fs.existsSync(path.join(packageDir(pkg), 'package.json'))) return true;
  log(`${pkg} is not in node_modules; unpacking it without its install script`);
  const res = run('npm', ['install', '--no-save', '--ignore-scripts', `${pkg}@${TFJS_VERSION}`], { env: buildEnv() });
  return res.ok && fs.existsSync(path.join(packageDir(pkg), 'package.json'));
}

/** The package's own install script (downloads libtensorflow, builds or fetches the binding). */
function ownInstall(pkg, args) {
  const res = run(process.execPath, ['scripts/install.js', ...args], { cwd: packageDir(pkg), env: buildEnv() });
  return res.ok ? null : res.why;
}

function pipCommand() {
  for (const [cmd, pre] of [
    ['pip3', []],
    ['pip', []],
    ['python3', ['-m', 'pip']],
  ]) {
    if (run(cmd, [...pre, '--version'], { quiet: true, timeoutMs: 30_000 }).ok) return [cmd, pre];
  }
  return null;
}

/** The tensorflow-cpu wheel, from the cache or fetched by pip from the configured index. */
function obtainWheel(cache) {
  const wheelDir = path.join(cache, 'wheels');
  const find = () =>
    fs.existsSync(wheelDir) && fs.readdirSync(wheelDir).find((f) => /^tensorflow_cpu-2\.21\.0-.*\.whl$/.test(f));
  let wheel = find();
  if (wheel) return { wheel: path.join(wheelDir, wheel) };
  const pip = pipCommand();
  if (!pip) return { error: 'pip is not installed (needed to fetch the tensorflow-cpu wheel)' };
  fs.mkdirSync(wheelDir, { recursive: true });
  log(`fetching ${TF_WHEEL_REQUIREMENT} with pip (about 270 MB, cached in ${wheelDir})`);
  const [cmd, pre] = pip;
  const res = run(cmd, [...pre, 'download', '--no-deps', '--retries', '0', '--dest', wheelDir, TF_WHEEL_REQUIREMENT], {
    timeoutMs: 20 * 60_000,
  });
  wheel = find();
  if (!res.ok || !wheel) return { error: `pip download ${TF_WHEEL_REQUIREMENT} failed (${res.why})` };
  return { wheel: path.join(wheelDir, wheel) };
}

/** Extracts the libraries and headers once; a marker file says the extraction finished. */
function extractWheel(wheel, cache) {
  const dest = path.join(cache, 'libtensorflow-2.21.0');
  const marker = path.join(dest, '.complete');
  // The marker holds the extraction plan's inputs: a changed header list re-extracts.
  const stamp = JSON.stringify({ WHEEL_LIBRARIES, HEADER_PREFIXES });
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === stamp) return { dir: dest };
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  log(`extracting the TensorFlow C library from ${path.basename(wheel)}`);
  // Python's zipfile: pip implies Python, while `unzip` is often absent.
  const py = `
import json, os, shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    if sys.stdin.readline().strip() == 'list':
        json.dump(z.namelist(), sys.stdout)
        sys.exit(0)
    for member, rel in json.load(sys.stdin):
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(member) as src, open(out, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
`;
  const python = (input) =>
    spawnSync('python3', ['-c', py, wheel, dest], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const listed = python('list\n');
  if (listed.status !== 0)
    return { error: `cannot read ${wheel} (${(listed.stderr || '').trim() || 'python3 failed'})` };
  const res = python(`extract\n${JSON.stringify(wheelExtractionPlan(JSON.parse(listed.stdout)))}`);
  if (res.status !== 0) return { error: `extracting ${wheel} failed: ${(res.stderr || '').trim()}` };
  for (const lib of WHEEL_LIBRARIES) {
    if (!fs.existsSync(path.join(dest, 'lib', path.basename(lib)))) return { error: `${lib} is missing from ${wheel}` };
  }
  fs.writeFileSync(marker, stamp);
  return { dir: dest };
}

/** Hard link when cache and node_modules share a file system (no 850 MB copy), else copy. */
function linkOrCopy(src, dst) {
  fs.rmSync(dst, { force: true });
  try {
    fs.linkSync(src, dst);
  } catch {
    fs.copyFileSync(src, dst);
  }
}

function stageLibtensorflow(extracted, bindingDir) {
  const deps = path.join(bindingDir, 'deps');
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(path.join(deps, 'lib'), { recursive: true });
  for (const lib of WHEEL_LIBRARIES) {
    const name = path.basename(lib);
    linkOrCopy(path.join(extracted, 'lib', name), path.join(deps, 'lib', name));
  }
  for (const [link, target] of libraryLinks()) fs.symlinkSync(target, path.join(deps, 'lib', link));
  fs.cpSync(path.join(extracted, 'include'), path.join(deps, 'include'), { recursive: true });
  // Any "tf-lib" entry makes the package's install script build the binding from source
  // instead of fetching a prebuilt one made for libtensorflow 2.9.1.
  fs.writeFileSync(
    path.join(bindingDir, 'scripts', 'custom-binary.json'),
    `${JSON.stringify({ 'tf-lib': pathToFileURL(extracted).href }, null, 2)}\n`,
  );
}

function offlineBuild(pkg) {
  const cache = cacheDir();
  const got = obtainWheel(cache);
  if (got.error) return got.error;
  const ex = extractWheel(got.wheel, cache);
  if (ex.error) return ex.error;
  const bindingDir = packageDir(pkg);
  stageLibtensorflow(ex.dir, bindingDir);
  fs.rmSync(path.join(bindingDir, 'lib'), { recursive: true, force: true });
  log('building the tfjs-node binding from source against TensorFlow 2.21 (node-gyp, ~15-60 s)');
  const why = ownInstall(pkg, []);
  return why ? `building the binding failed (${why})` : null;
}

async function provisionCpu() {
  const pkg = '@tensorflow/tfjs-node';
  const failures = [];
  if (verify(pkg).ok) {
    log(`${pkg} loads and computes: nothing to do`);
    return failures;
  }
  if (!ensurePackageFolder(pkg)) return [`npm could not unpack ${pkg}@${TFJS_VERSION}`];
  if (await hostReachable(DOWNLOAD_HOST)) {
    log(`${DOWNLOAD_HOST} is reachable: running ${pkg}'s own install (download + build)`);
    fs.rmSync(path.join(packageDir(pkg), 'scripts', 'custom-binary.json'), { force: true });
    const why = ownInstall(pkg, []);
    const check = verify(pkg);
    if (!why && check.ok) return [];
    failures.push(`the libtensorflow download route (${why ?? failureReason(check.output)})`);
  } else {
    log(`${DOWNLOAD_HOST} is not reachable: building against the tensorflow-cpu wheel`);
  }
  const why = offlineBuild(pkg);
  const check = verify(pkg);
  if (!why && check.ok) {
    log(`${pkg} built against the tensorflow-cpu wheel (check: ${check.output.trim().split('\n')[0]})`);
    return [];
  }
  failures.push(`the tensorflow-cpu wheel route (${why ?? `verification: ${failureReason(check.output)}`})`);
  return failures;
}

function provisionGpu() {
  const pkg = '@tensorflow/tfjs-node-gpu';
  if (!run('nvidia-smi', ['-L'], { quiet: true, timeoutMs: 20_000 }).ok) return;
  if (verify(pkg).ok) {
    log(`${pkg} loads: nothing to do`);
    return;
  }
  if (!ensurePackageFolder(pkg)) {
    warn(`npm could not unpack ${pkg}; GPU training unavailable (the CPU backend is used)`);
    return;
  }
  log(`NVIDIA GPU found: running ${pkg}'s install (downloads libtensorflow-gpu 2.9.1, needs CUDA 11.2 + cuDNN 8.1)`);
  const why = ownInstall(pkg, ['gpu', 'download']);
  const check = verify(pkg);
  if (why || !check.ok) {
    warn(`${pkg} is not usable (${why ?? failureReason(check.output)}); the CPU backend will be used`);
  }
}

async function main() {
  const failures = await provisionCpu();
  provisionGpu();
  if (failures.length === 0) return 0;
  const message =
    `the native TensorFlow backend (@tensorflow/tfjs-node) could not be installed: ${failures.join('; ')}. ` +
    'Landmark Studio will use the slow pure-JavaScript cpu backend (training is about 1000x slower). ' +
    'Re-run `npm run postinstall` after fixing the cause.';
  if (process.env.LANDMARK_STUDIO_REQUIRE_NATIVE === '1') {
    console.error(`[provision-tensorflow] ERROR: ${message}`);
    return 1;
  }
  warn(message);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      const strict = process.env.LANDMARK_STUDIO_REQUIRE_NATIVE === '1';
      console.error(`[provision-tensorflow] ${strict ? 'ERROR' : 'WARNING'}: unexpected failure: ${err?.stack ?? err}`);
      process.exit(strict ? 1 : 0);
    },
  );
}
