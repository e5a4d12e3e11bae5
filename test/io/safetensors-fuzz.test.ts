import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FileFormatError } from '../../src/errors';
import { disposeLoraRecord, loadLoraFile, saveLoraFile } from '../../src/io/lora-file';
import { encodeSafetensors, readSafetensors, toFloat32 } from '../../src/io/safetensors';
import { DTYPE_SIZE, SAFETENSORS_DTYPES } from '../../src/io/safetensors-codec';
import { SeededRandom } from '../../src/random/seeded-random';
import { useTestBackend } from '../test-backend';

function validFile(): Uint8Array {
  return encodeSafetensors(
    {
      'layers.0.weight': { dtype: 'F32', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) },
      'layers.0.bias': { dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) },
      ids: { dtype: 'I32', shape: [2, 2], data: Int32Array.of(1, -2, 3, -4) },
      half: { dtype: 'F16', shape: [5], data: Float32Array.of(0.5, 1, 2, -3, 65504) },
      empty: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
    },
    { format: 'pt', note: 'fuzz' },
  );
}

function split(file: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return {
    header: JSON.parse(Buffer.from(file.subarray(8, 8 + length)).toString('utf8')),
    data: file.subarray(8 + length),
  };
}

function join(headerText: string, data: Uint8Array, declaredLength?: bigint): Uint8Array {
  const json = Buffer.from(headerText, 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const WEIRD_VALUES: unknown[] = [-1, 1.5, 1e300, 2 ** 53, 2 ** 64, '3', null, true, [], {}, [1, 2, 3], 'F32', -0, 0];

function pick<T>(random: SeededRandom, items: readonly T[]): T {
  return items[random.int(items.length)];
}

/** Arrays nested 100 000 deep: JSON.parse copes, but recursive code on the result (JSON.stringify) overflows the stack. */
const DEEP = '['.repeat(100_000) + ']'.repeat(100_000);

/** One structural edit of the JSON header: the kinds of lies a corrupt or hostile file tells. */
function editHeader(random: SeededRandom, header: Record<string, any>): string {
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  const name = pick(random, names);
  const entry = header[name];
  switch (random.int(13)) {
    case 0:
      entry.dtype = pick(random, [...SAFETENSORS_DTYPES, 'F8', 'f32', 'complex64', '', 7]);
      break;
    case 1:
      entry.shape = [...entry.shape, 1 + random.int(4)];
      break;
    case 2:
      entry.shape = entry.shape.map(() => pick(random, WEIRD_VALUES));
      break;
    case 3:
      entry.shape = [2 ** 40, 2 ** 40, 2 ** 40];
      break;
    case 4:
      entry.data_offsets[random.int(2)] += random.int(9) - 4;
      break;
    case 5:
      entry.data_offsets = [pick(random, WEIRD_VALUES), pick(random, WEIRD_VALUES)];
      break;
    case 6: {
      const other = header[pick(random, names)];
      entry.data_offsets = [...other.data_offsets];
      entry.shape = [...other.shape];
      entry.dtype = other.dtype;
      break;
    }
    case 7:
      delete entry[pick(random, ['dtype', 'shape', 'data_offsets'])];
      break;
    case 8:
      header.__metadata__ = pick(random, [{ a: 1 }, [], 'text', null, { ok: 'yes' }]);
      break;
    case 9:
      header[name] = pick(random, WEIRD_VALUES);
      break;
    case 10: {
      const text = JSON.stringify(header);
      const cut = random.int(text.length);
      return text.slice(0, cut) + pick(random, ['', '}', ',', '"', '\u0000', '\\', 'NaN', '[[[[']) + text.slice(cut + 1);
    }
    case 11: {
      entry[pick(random, ['dtype', 'shape', 'data_offsets'])] = '<deep>';
      return JSON.stringify(header).replace('"<deep>"', DEEP);
    }
    default:
      return pick(random, ['', '[]', '"x"', 'null', '{', 'not json at all', `{"a":${'['.repeat(5000)}`]);
  }
  return JSON.stringify(header);
}

function corrupt(index: number, original: Uint8Array): Uint8Array {
  const random = new SeededRandom(1000 + index);
  const file = original.slice();
  const kind = index % 5;
  if (kind === 0) {
    const flips = 1 + random.int(4);
    for (let f = 0; f < flips; f++) {
      // Half the flips land in the length field or header, where they change meaning the most.
      const limit = random.next() < 0.5 ? Math.min(file.length, 200) : file.length;
      const at = random.int(limit);
      file[at] ^= 1 << random.int(8);
    }
    return file;
  }
  if (kind === 1) return file.slice(0, random.int(file.length));
  if (kind === 2) {
    const { header, data } = split(original);
    const text = JSON.stringify(header);
    const declared = pick(random, [
      BigInt(text.length + random.int(40) - 20),
      0n,
      2n ** 64n - 1n,
      2n ** 63n,
      BigInt(100_000_001),
      BigInt(original.length),
      BigInt(original.length - 8),
    ]);
    return join(text, data, declared < 0n ? 0n : declared);
  }
  const { header, data } = split(original);
  const text = editHeader(random, header);
  if (kind === 4 && random.next() < 0.5) return join(text, data.subarray(0, random.int(data.length)));
  return join(text, data);
}

/** What a successful parse must satisfy: every tensor's bytes agree with its dtype and shape. */
function checkConsistent(file: Uint8Array): void {
  const { tensors } = readSafetensors(file, 'fuzz.safetensors');
  let total = 0;
  for (const entry of tensors.values()) {
    const count = entry.shape.reduce((n, d) => n * d, 1);
    expect(entry.bytes.byteLength).toBe(count * DTYPE_SIZE[entry.dtype]);
    expect(toFloat32(entry).length).toBe(count);
    total += entry.bytes.byteLength;
  }
  expect(total).toBeLessThanOrEqual(file.length);
}

describe('safetensors reader under corruption', () => {
  it('parses the uncorrupted file', () => {
    expect(readSafetensors(validFile()).tensors.size).toBe(5);
  });

  it('derives each corruption from its index alone, so a failure is reproducible', () => {
    const original = validFile();
    for (const index of [0, 1, 2, 3, 4, 11, 777]) {
      expect(corrupt(index, original)).toEqual(corrupt(index, original));
    }
    expect(corrupt(3, original)).not.toEqual(corrupt(8, original));
  });

  it('gives a FileFormatError or a consistent parse for 1000 seeded corruptions, never another error', () => {
    const original = validFile();
    const heapBefore = process.memoryUsage().heapUsed;
    let rejected = 0;
    let accepted = 0;
    for (let index = 0; index < 1000; index++) {
      const file = corrupt(index, original);
      try {
        checkConsistent(file);
        accepted += 1;
      } catch (error) {
        if (!(error instanceof FileFormatError)) {
          throw new Error(`corruption #${index} raised ${String(error)} instead of a FileFormatError`);
        }
        expect(error.message).toMatch(/^fuzz\.safetensors: /);
        rejected += 1;
      }
    }
    // Most corruptions must be caught; some (e.g. a flipped bit inside tensor data) are legitimately valid.
    expect(rejected).toBeGreaterThan(700);
    expect(accepted).toBeGreaterThan(0);
    // Bounded memory: nothing close to the header lengths or shapes the corrupt files claim.
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    console.info(`heap growth over 1000 corruptions: ${(heapGrowth / 2 ** 20).toFixed(1)} MiB`);
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('LoRA file loader under corruption', () => {
  it('gives only FileFormatErrors (and leaks no tensors) for 300 corrupted LoRA files', async () => {
    await useTestBackend('cpu');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lorafuzz-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const good = path.join(dir, 'good.safetensors');
    const factor = (shape: [number, number], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor2D;
    const record = {
      parameters: {
        rank: 2,
        scale: 1,
        factors: [0, 1].flatMap((layer) =>
          (['q', 'v'] as const).map((projection, i) => ({
            site: { layer, projection },
            a: factor([8, 2], layer * 2 + i),
            b: factor([2, 8], 10 + layer * 2 + i),
          })),
        ),
      },
      head: { weight: factor([4, 3], 99), bias: tf.tensor1d([0, 1, 2]) },
      classIds: ['a', 'b', 'c'],
      metadata: { backbone: 'fuzz' },
    };
    saveLoraFile(good, record);
    disposeLoraRecord(record);
    const original = new Uint8Array(fs.readFileSync(good));
    const config = {
      imageSize: 8,
      patchSize: 4,
      channels: 3,
      width: 8,
      depth: 2,
      heads: 2,
      mlpWidth: 16,
      projectionDim: 4,
      layerNormEps: 1e-5,
    };
    const before = tf.memory().numTensors;
    let rejected = 0;
    for (let index = 0; index < 300; index++) {
      const file = path.join(dir, `c${index}.safetensors`);
      fs.writeFileSync(file, corrupt(index + 5000, original));
      try {
        disposeLoraRecord(loadLoraFile(file, config));
      } catch (error) {
        if (!(error instanceof FileFormatError)) throw new Error(`LoRA corruption #${index} raised ${String(error)}`);
        rejected += 1;
      }
      fs.rmSync(file);
    }
    expect(rejected).toBeGreaterThan(200);
    expect(tf.memory().numTensors).toBe(before);
  });
});
