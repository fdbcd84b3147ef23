// Reading JPEG and PNG headers in JavaScript: size, EXIF orientation and whether the JPEG's
// data is complete, in microseconds, where a sharp/libvips metadata call costs about a
// millisecond. The scan uses it for these two formats (nearly every labeling folder) and asks
// sharp about everything else, or whenever this parser is unsure.

export interface ImageHeader {
  format: 'jpeg' | 'png';
  /** As stored, before orientation. */
  width: number;
  height: number;
  orientation: number;
  /** False when the file ends before its image data does. */
  complete: boolean;
}

const EOI = Buffer.from([0xff, 0xd9]);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IEND = Buffer.from('IEND');
const EXIF_CHUNK = Buffer.from('eXIf');

/** The header of a JPEG or PNG; null for other formats or anything unusual (ask sharp then). */
export function readImageHeader(b: Buffer): ImageHeader | null {
  try {
    if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegHeader(b);
    if (b.length >= 33 && b.subarray(0, 8).equals(PNG_SIGNATURE) && b.toString('latin1', 12, 16) === 'IHDR') {
      // An eXIf chunk can carry an orientation: leave those rare files to sharp.
      if (b.indexOf(EXIF_CHUNK) !== -1) return null;
      // A file cut short has no IEND chunk (data after IEND is tolerated).
      const complete = b.lastIndexOf(IEND) >= 8;
      return { format: 'png', width: b.readUInt32BE(16), height: b.readUInt32BE(20), orientation: 1, complete };
    }
  } catch {
    // A length field pointing past the end: fall through to sharp, which names the fault.
  }
  return null;
}

/**
 * Walks the marker segments up to the first scan (SOS), taking the size from the frame header
 * (SOFn) and the orientation from EXIF (APP1). After SOS, 0xFF 0xD9 cannot occur inside the
 * entropy-coded data (0xFF is always stuffed), so finding it means the data is all there; an EXIF
 * thumbnail's EOI sits inside APP1 and is skipped with it. Data after EOI (camera trailers) is fine.
 */
function jpegHeader(b: Buffer): ImageHeader | null {
  let width = 0;
  let height = 0;
  let orientation = 1;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xda) {
      if (width === 0 || height === 0) return null;
      return { format: 'jpeg', width, height, orientation, complete: b.indexOf(EOI, i + 2) !== -1 };
    }
    const length = b.readUInt16BE(i + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      height = b.readUInt16BE(i + 5);
      width = b.readUInt16BE(i + 7);
    } else if (marker === 0xe1 && b.toString('latin1', i + 4, i + 10) === 'Exif\0\0') {
      orientation = exifOrientation(b, i + 10, Math.min(b.length, i + 2 + length));
    }
    i += 2 + length;
  }
  // Ran out of bytes before the first scan: cut short, or not really a JPEG. sharp decides.
  return null;
}

/** The Orientation tag (0x0112) of IFD0 in the TIFF structure at [start, end); 1 when absent. */
function exifOrientation(b: Buffer, start: number, end: number): number {
  const little = b.toString('latin1', start, start + 2) === 'II';
  const u16 = (at: number) => (at + 2 <= end ? (little ? b.readUInt16LE(at) : b.readUInt16BE(at)) : -1);
  const u32 = (at: number) => (at + 4 <= end ? (little ? b.readUInt32LE(at) : b.readUInt32BE(at)) : -1);
  const ifd = start + u32(start + 4);
  const entries = u16(ifd);
  for (let e = 0; e < entries; e++) {
    const entry = ifd + 2 + 12 * e;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}
