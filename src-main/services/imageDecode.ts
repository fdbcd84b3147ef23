// Reading image files of every supported format into sharp. sharp's prebuilt libvips has no BMP
// loader, so BMP goes through a pure-JS decoder first.
import { decode as decodeBmp } from 'bmp-ts';
import sharp from 'sharp';

/** File extensions the scan picks up (compared lower-case). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.bmp',
  '.tif',
  '.tiff',
]);

/** sharp's default limit (0x3FFF squared): larger images are refused rather than decoded. */
export const MAX_IMAGE_PIXELS = 0x3fff * 0x3fff;

export function isBmp(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d; // 'BM'
}

/** A sharp pipeline over the image's pixels; throws on data the decoders cannot read. */
export function sharpFromBytes(bytes: Buffer): sharp.Sharp {
  if (!isBmp(bytes)) return sharp(bytes, { failOn: 'truncated' });
  const bmp = decodeBmp(bytes, { toRGBA: true });
  // BMP's fourth channel is padding in nearly every file (and 0 in 24-bit ones): drop it.
  return sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: 4 } }).removeAlpha();
}

/** Width and height stored in a BMP header (height negative for top-down files). */
export function bmpSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.length < 26) throw new Error('BMP header is cut short');
  const headerSize = bytes.readUInt32LE(14);
  if (headerSize === 12) return { width: bytes.readUInt16LE(18), height: bytes.readUInt16LE(20) };
  return { width: bytes.readInt32LE(18), height: Math.abs(bytes.readInt32LE(22)) };
}

/** The formats a browser shows as they are, recognised by their first bytes. */
export function browserFormat(head: Buffer): { mime: string } | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return { mime: 'image/jpeg' };
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return { mime: 'image/png' };
  }
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') {
    return { mime: 'image/webp' };
  }
  return null;
}
