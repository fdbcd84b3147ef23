/**
 * Named weights: save/load in the TF.js artifact format, copies, and EMA updates.
 *
 *   await saveWeights(path.join(projectDir, 'models', 'moco-run-3'), backbone.weights, { arch: 'resnet18' });
 *   const meta = await loadWeightsInto(dir, backbone.weights);       // checks names and shapes
 *   copyWeights(key.weights, query.weights);                          // MoCo key encoder init
 *   emaUpdate(key.weights, query.weights, 0.999);                     // MoCo momentum update
 *
 * On disk a model is a folder with `model.json` (TF.js weights manifest + `userDefinedMetadata`,
 * which also records the byte count and SHA-256 of the weights) and `weights.bin`. A save writes
 * a sibling temp folder and renames it into place, so a crash leaves the old model or the new
 * one, never half of one; a damaged file gives an error naming the file and what is wrong.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tf } from './engine.js';
import type { io, Tensor, Variable } from '@tensorflow/tfjs';

export const WEIGHTS_FORMAT = 'landmark-studio-weights/1';
const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

export type NamedWeights = ReadonlyMap<string, Variable>;

interface ModelJson {
  format: string;
  generatedBy: string;
  weightsManifest: { paths: string[]; weights: io.WeightsManifestEntry[] }[];
  userDefinedMetadata: { weightsBytes: number; weightsSha256: string; metadata: Record<string, unknown> };
}

/** Thrown for unreadable, damaged or mismatching weight files; the message says which and why. */
export class WeightsError extends Error {
  override name = 'WeightsError';
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function writeFileSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A save interrupted between its two renames leaves only `.<name>.old-*`: put it back. */
function recoverInterruptedSave(dir: string): void {
  if (fs.existsSync(dir)) return;
  const parent = path.dirname(dir);
  if (!fs.existsSync(parent)) return;
  const prefix = `.${path.basename(dir)}.old-`;
  const old = fs.readdirSync(parent).find((f) => f.startsWith(prefix));
  if (old) fs.renameSync(path.join(parent, old), dir);
}

/**
 * Writes the tensors (e.g. `backbone.weights`) to `dir` atomically, replacing any model there.
 * `metadata` (JSON-serialisable: architecture, method, config) is stored alongside.
 */
export async function saveWeights(
  dir: string,
  weights: ReadonlyMap<string, Tensor>,
  metadata: Record<string, unknown> = {},
): Promise<void> {
  const named = [...weights].map(([name, tensor]) => ({ name, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const bytes = new Uint8Array(data);
  const model: ModelJson = {
    format: WEIGHTS_FORMAT,
    generatedBy: `TensorFlow.js tfjs ${tf.version.tfjs}`,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }],
    userDefinedMetadata: { weightsBytes: bytes.byteLength, weightsSha256: sha256(bytes), metadata },
  };
  const parent = path.dirname(path.resolve(dir));
  const base = path.basename(dir);
  fs.mkdirSync(parent, { recursive: true });
  recoverInterruptedSave(dir);
  const unique = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(parent, `.${base}.tmp-${unique}`);
  fs.mkdirSync(tmp);
  try {
    writeFileSynced(path.join(tmp, WEIGHTS_BIN), bytes);
    writeFileSynced(path.join(tmp, MODEL_JSON), JSON.stringify(model));
    if (fs.existsSync(dir)) {
      const old = path.join(parent, `.${base}.old-${unique}`);
      fs.renameSync(dir, old);
      fs.renameSync(tmp, dir);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, dir);
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Reads and checks a saved model; returns new tensors (the caller disposes them) and metadata. */
export function readWeights(dir: string): { tensors: Map<string, Tensor>; metadata: Record<string, unknown> } {
  recoverInterruptedSave(dir);
  const jsonPath = path.join(dir, MODEL_JSON);
  const binPath = path.join(dir, WEIGHTS_BIN);
  if (!fs.existsSync(jsonPath)) throw new WeightsError(`no saved weights at ${dir} (${MODEL_JSON} is missing)`);
  let model: ModelJson;
  try {
    model = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as ModelJson;
  } catch (err) {
    throw new WeightsError(`${jsonPath} is corrupted: not valid JSON (${(err as Error).message})`);
  }
  const entry = model?.weightsManifest?.[0];
  const meta = model?.userDefinedMetadata;
  if (
    model?.format !== WEIGHTS_FORMAT ||
    !entry ||
    !Array.isArray(entry.weights) ||
    !meta ||
    typeof meta.weightsSha256 !== 'string'
  ) {
    throw new WeightsError(
      `${jsonPath} is not a Landmark Studio weights file (format "${String(model?.format)}", expected "${WEIGHTS_FORMAT}")`,
    );
  }
  if (!fs.existsSync(binPath)) throw new WeightsError(`${binPath} is missing: the weights of ${dir} cannot be loaded`);
  const bytes = fs.readFileSync(binPath);
  if (bytes.byteLength !== meta.weightsBytes) {
    throw new WeightsError(
      `${binPath} is corrupted: ${bytes.byteLength} bytes, expected ${meta.weightsBytes} (truncated or overwritten)`,
    );
  }
  if (sha256(bytes) !== meta.weightsSha256)
    throw new WeightsError(`${binPath} is corrupted: its checksum does not match ${MODEL_JSON}`);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const decoded = tf.io.decodeWeights(buffer, entry.weights);
  return { tensors: new Map(Object.entries(decoded)), metadata: meta.metadata ?? {} };
}

/**
 * Loads a saved model into existing variables. Every variable must be in the file with the same
 * shape (extra entries in the file are an error too, unless `allowExtra`), so a model saved for
 * another architecture fails with a clear message instead of half-loading.
 */
export function loadWeightsInto(
  dir: string,
  target: NamedWeights,
  options: { allowExtra?: boolean } = {},
): Record<string, unknown> {
  const { tensors, metadata } = readWeights(dir);
  try {
    assignWeights(dir, target, tensors, options);
    return metadata;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** loadWeightsInto for tensors already read from `dir` (readWeights; the caller disposes them). */
export function assignWeights(
  dir: string,
  target: NamedWeights,
  tensors: ReadonlyMap<string, Tensor>,
  options: { allowExtra?: boolean } = {},
): void {
  const missing = [...target.keys()].filter((n) => !tensors.has(n));
  const extra = [...tensors.keys()].filter((n) => !target.has(n));
  const problems: string[] = [];
  if (missing.length)
    problems.push(
      `missing ${missing.length} weight(s) (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''})`,
    );
  if (extra.length && !options.allowExtra)
    problems.push(
      `${extra.length} unexpected weight(s) (${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''})`,
    );
  for (const [name, variable] of target) {
    const t = tensors.get(name);
    if (t && !tf.util.arraysEqual(t.shape, variable.shape))
      problems.push(`${name} has shape [${t.shape}] in the file, [${variable.shape}] in the model`);
  }
  if (problems.length) throw new WeightsError(`weights at ${dir} do not fit this model: ${problems.join('; ')}`);
  for (const [name, variable] of target) variable.assign(tensors.get(name)!);
}

function checkSameNames(target: NamedWeights, source: NamedWeights, what: string): void {
  if (target.size !== source.size || [...target.keys()].some((n) => !source.has(n))) {
    throw new Error(`${what}: the two weight sets have different names (${target.size} vs ${source.size} weights)`);
  }
}

/** target := source, for every name (e.g. MoCo's key encoder starts as the query encoder). */
export function copyWeights(target: NamedWeights, source: NamedWeights): void {
  checkSameNames(target, source, 'copyWeights');
  for (const [name, variable] of target) variable.assign(source.get(name)!);
}

/**
 * Exponential moving average, target := momentum * target + (1 - momentum) * source (MoCo
 * Eq. 2, BYOL's target network). `names` restricts it (e.g. to trainable parameters, as MoCo's
 * reference implementation leaves batch-norm statistics to each encoder's own forward passes);
 * default: every weight.
 */
export function emaUpdate(
  target: NamedWeights,
  source: NamedWeights,
  momentum: number,
  names?: Iterable<string>,
): void {
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`emaUpdate momentum must be in [0, 1], got ${momentum}`);
  checkSameNames(target, source, 'emaUpdate');
  tf.tidy(() => {
    for (const name of names ?? target.keys()) {
      const t = target.get(name);
      const s = source.get(name);
      if (!t || !s) throw new Error(`emaUpdate: no weight named ${name}`);
      t.assign(tf.add(tf.mul(t, momentum), tf.mul(s, 1 - momentum)));
    }
  });
}
