import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { FileFormatError, MissingResourceError } from '../errors';
import { writeFileAtomic } from './atomic-write';
import { previewJson } from './json-preview';
import { DTYPE_SIZE, type SafetensorsDtype, decodeToFloat32, floatToHalf, isSafetensorsDtype } from './safetensors-codec';

/**
 * Strict reader and writer of the safetensors format
 * (https://github.com/huggingface/safetensors#format):
 *   [u64 little-endian N][N bytes of UTF-8 JSON header][data section]
 * The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to
 * the data section) plus an optional "__metadata__" string→string map.
 */

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** View into the file's bytes (not a copy), little-endian elements. */
  bytes: Uint8Array;
}

export interface SafetensorsContents {
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsEntry>;
}

/** A tensor to write: a tf.Tensor (float32 → F32, int32 → I32) or raw typed data. */
export type WritableTensor =
  | tf.Tensor
  | { dtype: 'F32' | 'F16'; shape: number[]; data: Float32Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array };

/**
 * Reads and validates a safetensors file (path) or its bytes. Any defect is a FileFormatError
 * naming the tensor and the problem; memory used is bounded by the file's size.
 */
export function readSafetensors(source: string | Uint8Array, label?: string): SafetensorsContents {
  const where = typeof source === 'string' ? source : label;
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    try {
      bytes = fs.readFileSync(source);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new MissingResourceError(`${source}: cannot read safetensors file (${reason})`);
    }
  } else {
    bytes = source;
  }
  return parseSafetensors(bytes, where);
}

function parseSafetensors(bytes: Uint8Array, where: string | undefined): SafetensorsContents {
  const fail = (detail: string): never => {
    throw new FileFormatError(where, detail);
  };
  if (bytes.byteLength < 8) fail(`file has ${bytes.byteLength} bytes, a safetensors file needs at least 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.byteLength - 8)) {
    fail(`header length ${declared} exceeds the ${bytes.byteLength - 8} bytes after the length field`);
  }
  if (declared > BigInt(MAX_HEADER_BYTES)) fail(`header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLength = Number(declared);
  const header = parseHeaderJson(bytes.subarray(8, 8 + headerLength), fail);
  const data = bytes.subarray(8 + headerLength);

  let metadata: Record<string, string> = {};
  const ranges: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(value, fail);
      continue;
    }
    const entry = parseEntry(name, value, data, fail);
    ranges.push({ name, begin: entry.begin, end: entry.end });
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape, bytes: data.subarray(entry.begin, entry.end) });
  }
  checkCoverage(ranges, data.byteLength, fail);
  return { metadata, tensors };
}

function parseHeaderJson(raw: Uint8Array, fail: (detail: string) => never): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header must start with '{', found ${JSON.stringify(text.slice(0, 20))}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('header JSON is not an object');
  return parsed as Record<string, unknown>;
}

function parseMetadata(value: unknown, fail: (detail: string) => never): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('__metadata__ must be an object of strings');
  }
  const metadata: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (typeof item !== 'string') fail(`__metadata__.${key} must be a string, found ${typeof item}`);
    metadata[key] = item as string;
  }
  return metadata;
}

interface ParsedEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, value: unknown, data: Uint8Array, fail: (detail: string) => never): ParsedEntry {
  const bad = (detail: string): never => fail(`tensor "${name}": ${detail}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('entry is not an object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') bad(`unexpected field "${key}"`);
  }
  const { dtype, shape, data_offsets: offsets } = record;
  if (!isSafetensorsDtype(dtype)) return bad(`unknown dtype ${previewJson(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return bad(`shape must be an array of non-negative integers, found ${previewJson(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    return bad(`data_offsets must be two non-negative integers, found ${previewJson(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) bad(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > data.byteLength) bad(`data_offsets [${begin}, ${end}] exceed the ${data.byteLength}-byte data section`);
  const byteSize = boundedByteSize(shape as number[], DTYPE_SIZE[dtype], Number.MAX_SAFE_INTEGER);
  if (byteSize !== end - begin) {
    bad(`${dtype} of shape [${shape.join(', ')}] needs ${byteSize ?? 'more than 2^53'} bytes, data_offsets give ${end - begin}`);
  }
  return { dtype, shape: shape as number[], begin, end };
}

/** product(shape)·elementSize, or null as soon as it would exceed `limit` (no overflow). */
function boundedByteSize(shape: number[], elementSize: number, limit: number): number | null {
  if (shape.includes(0)) return 0;
  let size = elementSize;
  for (const dim of shape) {
    size *= dim;
    if (size > limit) return null;
  }
  return size;
}

/** The byte ranges must tile the data section exactly: no overlap, no gap, nothing left over. */
function checkCoverage(ranges: { name: string; begin: number; end: number }[], dataLength: number, fail: (detail: string) => never): void {
  ranges.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let cursor = 0;
  for (const range of ranges) {
    if (range.begin < cursor)
      fail(`tensor "${range.name}": data_offsets [${range.begin}, ${range.end}] overlap the previous tensor (ends at ${cursor})`);
    if (range.begin > cursor) fail(`tensor "${range.name}": gap in the data section between byte ${cursor} and ${range.begin}`);
    cursor = range.end;
  }
  if (cursor !== dataLength) fail(`data section has ${dataLength} bytes but tensors cover only ${cursor}`);
}

function elementCount(shape: number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** The entry's values as a new Float32Array (F16, BF16, F64 and integers converted). */
export function toFloat32(entry: SafetensorsEntry): Float32Array {
  return decodeToFloat32(entry.dtype, entry.bytes, elementCount(entry.shape));
}

/** A tf tensor of the entry: float32 by default; integer dtypes may ask for int32. */
export function tensorFromEntry(entry: SafetensorsEntry, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  const values = toFloat32(entry);
  return dtype === 'int32' ? tf.tensor(Int32Array.from(values), entry.shape, 'int32') : tf.tensor(values, entry.shape, 'float32');
}

/**
 * Reads a file and makes a tf tensor of every entry (float32, or int32 for I32/I64/I16/I8/U8/BOOL).
 * The caller owns the tensors.
 */
export function readSafetensorsTensors(
  source: string | Uint8Array,
  label?: string,
): { metadata: Record<string, string>; tensors: Record<string, tf.Tensor> } {
  const { metadata, tensors } = readSafetensors(source, label);
  const out: Record<string, tf.Tensor> = {};
  for (const [name, entry] of tensors) {
    out[name] = tensorFromEntry(entry, entry.dtype.startsWith('F') || entry.dtype === 'BF16' ? 'float32' : 'int32');
  }
  return { metadata, tensors: out };
}

interface EncodedTensor {
  dtype: 'F32' | 'F16' | 'I32';
  shape: number[];
  bytes: Uint8Array;
}

function encodeTensor(name: string, tensor: WritableTensor): EncodedTensor {
  if (tensor instanceof tf.Tensor) {
    if (tensor.dtype === 'float32') {
      return encodeTensor(name, { dtype: 'F32', shape: tensor.shape, data: tensor.dataSync() as Float32Array });
    }
    if (tensor.dtype === 'int32') {
      return encodeTensor(name, { dtype: 'I32', shape: tensor.shape, data: tensor.dataSync() as Int32Array });
    }
    throw new FileFormatError(undefined, `tensor "${name}": cannot write tf dtype ${tensor.dtype}`);
  }
  const count = elementCount(tensor.shape);
  if (tensor.data.length !== count) {
    throw new FileFormatError(
      undefined,
      `tensor "${name}": shape [${tensor.shape.join(', ')}] needs ${count} values, found ${tensor.data.length}`,
    );
  }
  if (tensor.dtype === 'F16') {
    const halves = new Uint16Array(count);
    for (let i = 0; i < count; i++) halves[i] = floatToHalf(tensor.data[i]);
    return { dtype: 'F16', shape: [...tensor.shape], bytes: littleEndianBytes(halves) };
  }
  return { dtype: tensor.dtype, shape: [...tensor.shape], bytes: littleEndianBytes(tensor.data) };
}

function littleEndianBytes(data: Float32Array | Int32Array | Uint16Array): Uint8Array {
  // Node runs on little-endian hosts only, so the typed array's memory is already the file layout.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The bytes of a safetensors file: names sorted, tensors packed in that order, header padded with
 * spaces so that the data section starts at a multiple of 8.
 */
export function encodeSafetensors(
  tensors: Map<string, WritableTensor> | Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const encoded: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    if (name === '__metadata__') throw new FileFormatError(undefined, 'a tensor cannot be named "__metadata__"');
    const { dtype, shape, bytes } = encodeTensor(name, tensor);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.byteLength] };
    encoded.push(bytes);
    offset += bytes.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padding = (8 - ((8 + json.byteLength) % 8)) % 8;
  if (padding) json = Buffer.concat([json, Buffer.alloc(padding, 0x20)]);
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let cursor = 8 + json.byteLength;
  for (const bytes of encoded) {
    out.set(bytes, cursor);
    cursor += bytes.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically (see encodeSafetensors for the layout). */
export function writeSafetensors(
  path: string,
  tensors: Map<string, WritableTensor> | Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
