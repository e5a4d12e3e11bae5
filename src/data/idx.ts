import * as fs from 'fs';
import { gunzipSync } from 'zlib';
import { FileFormatError } from '../errors';

/** A parsed IDX file (the MNIST format): unsigned bytes with their dimensions. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Reads an IDX file (optionally gzipped): magic 0x00 0x00 0x08 (ubyte) and a dimension count,
 * big-endian sizes, then exactly ∏ sizes bytes. Anything else is a FileFormatError.
 */
export function readIdx(filePath: string): IdxArray {
  let bytes: Uint8Array = new Uint8Array(fs.readFileSync(filePath));
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (error) {
      throw new FileFormatError(filePath, `gzip data is corrupt or truncated (${(error as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new FileFormatError(filePath, `only ${bytes.length} bytes: not an IDX file`);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new FileFormatError(
      filePath,
      `IDX magic must be 00 00 08 (unsigned bytes), found ${[...bytes.subarray(0, 3)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`,
    );
  }
  const rank = bytes[3];
  if (rank < 1 || rank > 4) throw new FileFormatError(filePath, `IDX rank must be 1..4, found ${rank}`);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new FileFormatError(filePath, `truncated IDX header (${bytes.length} of ${header} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== count) {
    throw new FileFormatError(
      filePath,
      `IDX dimensions [${dims}] need ${count} data bytes, found ${bytes.length - header} (truncated or padded)`,
    );
  }
  return { dims, data: bytes.subarray(header) };
}
