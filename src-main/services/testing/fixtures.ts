// Test fixtures: temporary image folders with files of every kind the scan must handle, and a
// services instance with a project over them. Used by the services tests only.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encode as encodeBmp } from 'bmp-ts';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { expect } from 'vitest';
import { ApiError, dispatch } from '../../../src-shared/api.js';
import type { ApiMethod, ApiRequest, ApiResponse } from '../../../src-shared/api.js';
import { createServices } from '../index.js';
import type { Services, ServicesOptions } from '../index.js';
import { ANYWHERE } from '../pathPolicy.js';

export interface Workspace {
  dir: string;
  imageRoot: string;
  projectDir: string;
  cleanup(): void;
}

export function workspace(prefix = 'ls-test-'): Workspace {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const imageRoot = path.join(dir, 'images');
  mkdirSync(imageRoot);
  return {
    dir,
    imageRoot,
    projectDir: path.join(dir, 'project'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A width x height image with a colour gradient (so crops and rotations are visible in pixels). */
export function gradient(width: number, height: number): sharp.Sharp {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      px[i] = Math.round((255 * x) / Math.max(1, width - 1));
      px[i + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      px[i + 2] = 60;
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } });
}

export async function writeJpeg(file: string, width = 64, height = 48, orientation?: number): Promise<Buffer> {
  mkdirSync(path.dirname(file), { recursive: true });
  let img = gradient(width, height).jpeg({ quality: 90 });
  if (orientation !== undefined) img = img.withMetadata({ orientation });
  const bytes = await img.toBuffer();
  writeFileSync(file, bytes);
  return bytes;
}

export async function writePng(file: string, width = 64, height = 48): Promise<Buffer> {
  mkdirSync(path.dirname(file), { recursive: true });
  const bytes = await gradient(width, height).png().toBuffer();
  writeFileSync(file, bytes);
  return bytes;
}

/** A 24-bit BMP of one colour. */
export function writeBmp(file: string, width: number, height: number, rgb: [number, number, number]): Buffer {
  const abgr = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) abgr.set([0, rgb[2], rgb[1], rgb[0]], i * 4);
  const bytes = encodeBmp({ width, height, data: abgr, bitPP: 24 }).data;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  return bytes;
}

/**
 * A services instance with typed calls through `dispatch` (payloads validated as on the wire);
 * paths allowed anywhere unless `options.paths` says otherwise, like the CLI's.
 */
export function testServices(options: ServicesOptions = {}) {
  const services: Services = createServices({ paths: ANYWHERE, ...options });
  const call = <M extends ApiMethod>(method: M, payload: ApiRequest<M>): Promise<ApiResponse<M>> =>
    dispatch(services.handlers, method, payload) as Promise<ApiResponse<M>>;
  /** Calls with a payload of any shape, for bad-input tests. */
  const callRaw = (method: string, payload: unknown): Promise<unknown> => dispatch(services.handlers, method, payload);
  return { services, call, callRaw };
}

/** The ApiError a call rejects with (fails the test if it resolves or throws anything else). */
export async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => new Error('expected the call to fail'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

/** Every row of the labeling tables, read through a separate connection: for "unchanged" checks. */
export function databaseSnapshot(projectDir: string): Record<string, unknown[]> {
  const db = new Database(path.join(projectDir, 'project.sqlite'), { readonly: true });
  try {
    const tables = [
      'settings',
      'images',
      'keypoints',
      'skeleton_edges',
      'annotations',
      'annotation_history',
      'reviewed_images',
    ];
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()]));
  } finally {
    db.close();
  }
}

/** A project over `count` 64x48 JPEGs (img0.jpg ...) with keypoints named `names`. */
export async function labelingProject(ws: Workspace, count = 3, names: string[] = ['nose', 'left_eye', 'right_eye']) {
  for (let i = 0; i < count; i++) await writeJpeg(path.join(ws.imageRoot, `img${i}.jpg`), 64, 48);
  const t = testServices();
  await t.call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
  for (const name of names) await t.call('keypoints.add', { name });
  const images = (await t.call('images.list', {})).items;
  const keypoints = (await t.call('schema.get', {})).keypoints;
  return { ...t, images, keypoints };
}
