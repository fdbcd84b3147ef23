// Writes the images the tests label: six 640x480 JPEG photos of simple shapes plus one file that
// is not an image (the scan must list it as a problem), in the temporary folder that
// playwright.config.ts made and the host may use. Paths reach the tests through the environment
// (Playwright passes globalSetup's process.env to workers).
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';

export const IMAGE_COUNT = 6;
export const IMAGE_SIZE = { width: 640, height: 480 } as const;
export const BROKEN_FILE = 'broken.jpg';

function shapesSvg(i: number): string {
  const { width, height } = IMAGE_SIZE;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="rgb(${40 + i * 25}, 90, ${150 - i * 10})"/>
    <circle cx="${220 + i * 15}" cy="210" r="70" fill="#e0d6c4"/>
    <circle cx="${195 + i * 15}" cy="195" r="9" fill="#222"/>
    <circle cx="${245 + i * 15}" cy="195" r="9" fill="#222"/>
    <rect x="380" y="${260 - i * 8}" width="140" height="90" fill="#2b2b2b"/>
  </svg>`;
}

/** Returns the teardown that removes the temporary folder. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(resolve('out/renderer/index.html'))) {
    throw new Error(
      'The renderer is not built: run `npm run test:e2e` (it builds first) or `npx electron-vite build`.',
    );
  }
  const root = process.env.E2E_ROOT;
  if (!root) throw new Error('E2E_ROOT is unset: run through playwright.config.ts, which makes it.');
  const images = join(root, 'images');
  await mkdir(images);
  for (let i = 0; i < IMAGE_COUNT; i++) {
    await sharp(Buffer.from(shapesSvg(i)))
      .jpeg({ quality: 90 })
      .toFile(join(images, `frame_${String(i).padStart(3, '0')}.jpg`));
  }
  await writeFile(join(images, BROKEN_FILE), 'this is not a JPEG');
  process.env.E2E_IMAGES = images;
  return () => rm(root, { recursive: true, force: true });
}
