import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FileFormatError, MissingResourceError } from '../../src/errors';
import { encodeSafetensors, readSafetensors, tensorFromEntry, toFloat32, writeSafetensors } from '../../src/io/safetensors';
import { floatToHalf, halfToFloat } from '../../src/io/safetensors-codec';
import { writeFileAtomic } from '../../src/io/atomic-write';
import { useTestBackend } from '../test-backend';

/** Builds a file by hand from a header object and raw data bytes. */
function handMade(header: unknown, data: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  beforeAll(async () => {
    await useTestBackend('cpu');
  });

  it('round-trips F32, I32 and F16 tensors with metadata, header aligned to 8 bytes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'sub', 'x.safetensors');
    const weight = tf.tensor2d([
      [1, -2.5, 3],
      [4, 5, 6e-3],
    ]);
    writeSafetensors(
      file,
      {
        weight,
        ids: { dtype: 'I32', shape: [3], data: Int32Array.from([7, -1, 2 ** 30]) },
        half: { dtype: 'F16', shape: [2], data: Float32Array.from([0.5, -1024]) },
        empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      },
      { note: 'hello' },
    );
    const bytes = fs.readFileSync(file);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const read = readSafetensors(file);
    expect(read.metadata).toEqual({ note: 'hello' });
    expect([...read.tensors.keys()]).toEqual(['empty', 'half', 'ids', 'weight']);
    expect(read.tensors.get('weight')!.shape).toEqual([2, 3]);
    expect(Array.from(toFloat32(read.tensors.get('weight')!))).toEqual(Array.from(weight.dataSync()));
    expect(Array.from(toFloat32(read.tensors.get('ids')!))).toEqual([7, -1, 2 ** 30]);
    expect(Array.from(toFloat32(read.tensors.get('half')!))).toEqual([0.5, -1024]);
    const t = tensorFromEntry(read.tensors.get('ids')!, 'int32');
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.dataSync())).toEqual([7, -1, 2 ** 30]);
    t.dispose();
    weight.dispose();
    expect(fs.readdirSync(path.dirname(file))).toEqual(['x.safetensors']);
  });

  it('decodes F16, BF16, F64 and integer dtypes written by hand', () => {
    const data = new Uint8Array(2 + 2 + 8 + 8 + 2 + 1);
    const view = new DataView(data.buffer);
    view.setUint16(0, 0x3c00, true); // F16 1.0
    view.setUint16(2, 0xc040, true); // BF16 -3.0
    view.setFloat64(4, Math.PI, true);
    view.setBigInt64(12, -5n, true);
    view.setInt16(20, -300, true);
    view.setUint8(22, 1);
    const file = handMade(
      {
        a: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
        b: { dtype: 'BF16', shape: [], data_offsets: [2, 4] },
        c: { dtype: 'F64', shape: [1, 1], data_offsets: [4, 12] },
        d: { dtype: 'I64', shape: [1], data_offsets: [12, 20] },
        e: { dtype: 'I16', shape: [1], data_offsets: [20, 22] },
        f: { dtype: 'BOOL', shape: [1], data_offsets: [22, 23] },
      },
      data,
    );
    const { tensors } = readSafetensors(file);
    const value = (n: string) => toFloat32(tensors.get(n)!)[0];
    expect(value('a')).toBe(1);
    expect(value('b')).toBe(-3);
    expect(value('c')).toBeCloseTo(Math.PI, 6);
    expect(value('d')).toBe(-5);
    expect(value('e')).toBe(-300);
    expect(value('f')).toBe(1);
  });

  it('converts half precision exactly for representable values and rounds to nearest even', () => {
    for (const bits of [0x0000, 0x0001, 0x03ff, 0x0400, 0x3555, 0x7bff, 0xfbff, 0x7c00, 0x8001]) {
      expect(floatToHalf(halfToFloat(bits))).toBe(bits);
    }
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(floatToHalf(70000)).toBe(0x7c00);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  const cases: [string, unknown, number, RegExp][] = [
    ['unknown dtype', { x: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, 1, /"x": unknown dtype "F8"/],
    ['shape/bytes mismatch', { x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4, /"x": F32 of shape \[2\] needs 8 bytes/],
    ['negative dim', { x: { dtype: 'U8', shape: [-1], data_offsets: [0, 1] } }, 1, /"x": shape must be/],
    ['offsets out of range', { x: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } }, 4, /"x": data_offsets \[0, 8\] exceed/],
    [
      'overlap',
      {
        x: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
        y: { dtype: 'U8', shape: [2], data_offsets: [2, 4] },
      },
      4,
      /"y".*overlap/,
    ],
    ['gap', { x: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } }, 4, /"x": gap/],
    ['uncovered tail', { x: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, 4, /tensors cover only 2/],
    ['huge shape', { x: { dtype: 'F64', shape: [2 ** 50, 2 ** 50], data_offsets: [0, 4] } }, 4, /needs more than 2\^53 bytes/],
    ['metadata not strings', { __metadata__: { a: 1 } }, 0, /__metadata__\.a must be a string/],
    ['extra field', { x: { dtype: 'U8', shape: [1], data_offsets: [0, 1], foo: 1 } }, 1, /unexpected field "foo"/],
  ];
  for (const [label, header, dataLength, message] of cases) {
    it(`rejects ${label} with a FileFormatError naming the problem`, () => {
      const bytes = handMade(header, new Uint8Array(dataLength));
      expect(() => readSafetensors(bytes, 'case.safetensors')).toThrow(FileFormatError);
      expect(() => readSafetensors(bytes, 'case.safetensors')).toThrow(message);
    });
  }

  it('rejects short files, oversized header lengths, bad UTF-8, non-object JSON and missing files', () => {
    expect(() => readSafetensors(new Uint8Array(5))).toThrow(/at least 8/);
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, 2n ** 63n, true);
    expect(() => readSafetensors(big)).toThrow(/header length 9223372036854775808 exceeds/);
    const badUtf8 = new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe]);
    expect(() => readSafetensors(badUtf8)).toThrow(/UTF-8/);
    const array = new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x5b, 0x5d]);
    expect(() => readSafetensors(array)).toThrow(/start with/);
    expect(() => readSafetensors('/nonexistent/file.safetensors')).toThrow(MissingResourceError);
    expect(() => readSafetensors('/nonexistent/file.safetensors')).toThrow(/no such file/);
  });

  it('encodes names in sorted order and refuses a tensor called __metadata__', () => {
    const bytes = encodeSafetensors({
      b: { dtype: 'F32', shape: [1], data: Float32Array.of(2) },
      a: { dtype: 'F32', shape: [1], data: Float32Array.of(1) },
    });
    expect(Array.from(toFloat32(readSafetensors(bytes).tensors.get('a')!))).toEqual([1]);
    const { tensors } = readSafetensors(bytes);
    expect(tensors.get('a')!.bytes.byteOffset).toBeLessThan(tensors.get('b')!.bytes.byteOffset);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'F32', shape: [0], data: new Float32Array(0) } })).toThrow(FileFormatError);
  });

  it('writeFileAtomic replaces a file without leaving temporaries', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'a.txt');
    writeFileAtomic(file, 'one');
    writeFileAtomic(file, new Uint8Array([0x74, 0x77, 0x6f]));
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
    expect(fs.readdirSync(dir)).toEqual(['a.txt']);
  });
});
