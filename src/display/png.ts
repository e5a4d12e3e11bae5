/**
 * A minimal PNG encoder (8-bit grey, RGB or RGBA, no interlace) on node:zlib, and the helper that
 * turns a batch of images in [0, 1] into PNG data URLs for the display payloads.
 */
import { deflateSync } from 'node:zlib';
import { ShapeError } from '../errors';
import { PNG_DATA_URL_PREFIX } from './check';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOR_TYPE: Record<number, number> = { 1: 0, 3: 2, 4: 6 }; // channels → PNG colour type

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** PNG file bytes of one image: `bytes` is [height, width, channels] row-major, channels 1, 3 or 4. */
export function encodePng(bytes: Uint8Array, width: number, height: number, channels: number): Buffer {
  if (!(channels in COLOR_TYPE)) throw new ShapeError(`encodePng: expected 1, 3 or 4 channels, found ${channels}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ShapeError(`encodePng: expected positive integer width and height, found ${width}×${height}`);
  }
  const stride = width * channels;
  if (bytes.length !== stride * height) {
    throw new ShapeError(`encodePng: expected ${stride * height} bytes for ${height}×${width}×${channels}, found ${bytes.length}`);
  }
  const raw = Buffer.alloc((stride + 1) * height); // each row: filter byte 0 (none), then pixels
  for (let y = 0; y < height; y++) raw.set(bytes.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = COLOR_TYPE[channels];
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

export function pngDataUrlOf(png: Uint8Array): string {
  return PNG_DATA_URL_PREFIX + Buffer.from(png).toString('base64');
}

/**
 * PNG data URLs of a batch of images. `pixels` is NHWC [n, h, w, c] with values in [0, 1]
 * (clamped; NaN becomes 0), c = 1, 3 or 4 — e.g. `denormalizeImages(x).dataSync()`.
 */
export function imagesToPngDataUrls(pixels: Float32Array, n: number, h: number, w: number, c: number): string[] {
  if (pixels.length !== n * h * w * c) {
    throw new ShapeError(`imagesToPngDataUrls: expected ${n}×${h}×${w}×${c} = ${n * h * w * c} values, found ${pixels.length}`);
  }
  const size = h * w * c;
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = new Uint8Array(size);
    for (let j = 0; j < size; j++) {
      const v = pixels[i * size + j];
      bytes[j] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
    }
    urls.push(pngDataUrlOf(encodePng(bytes, w, h, c)));
  }
  return urls;
}
