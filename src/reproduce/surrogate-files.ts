import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { encodePng } from '../display';
import { FileFormatError, MissingResourceError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import type { Teacher } from '../meta/surrogate';
import type { InvertedLora } from './ports';
import { readJsonFile } from '../io/read-json';

/** Contents of `<dir>/<id>/surrogate.json`: what meta-training needs, the images as float32 base64. */
interface SurrogateFile {
  format: 'lora-recycle/surrogate@1';
  zooId: string;
  shape: [number, number, number, number]; // [B, H, W, C]
  images: string; // normalised float32, base64
  targets: number[];
  keptPatches: number[][] | null;
  teacherConfidence: number[];
  iterationsPerSecond: number;
}

function toPng(image: Float32Array | Int32Array | Uint8Array, h: number, w: number, c: number): Buffer {
  const bytes = new Uint8Array(h * w * c);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round(Number(image[i]) * 255)));
  return encodePng(bytes, w, h, c);
}

/**
 * Writes an inversion as artifacts, each atomically: image-i.png (surrogate in [0, 1]),
 * mask-i.png (surviving patches white) and masked-i.png when pruned, and surrogate.json.
 */
export function saveSurrogate(dir: string, zooId: string, inverted: InvertedLora): void {
  const out = path.join(dir, zooId);
  const [b, h, w, c] = inverted.pixels.shape;
  const pixels = inverted.pixels.dataSync() as Float32Array;
  const masks = inverted.masks?.dataSync() as Float32Array | undefined;
  const frame = h * w * c;
  for (let i = 0; i < b; i++) {
    const image = pixels.subarray(i * frame, (i + 1) * frame);
    writeFileAtomic(path.join(out, `image-${i}.png`), toPng(image, h, w, c));
    if (masks) {
      const mask = masks.subarray(i * h * w, (i + 1) * h * w);
      writeFileAtomic(path.join(out, `mask-${i}.png`), toPng(mask, h, w, 1));
      writeFileAtomic(path.join(out, `masked-${i}.png`), toPng(image.map((v, j) => v * mask[Math.floor(j / c)]), h, w, c));
    }
  }
  const images = inverted.set.images.dataSync() as Float32Array;
  const file: SurrogateFile = {
    format: 'lora-recycle/surrogate@1', zooId, shape: [b, h, w, c],
    images: Buffer.from(images.buffer, images.byteOffset, images.byteLength).toString('base64'),
    targets: [...inverted.set.targets],
    keptPatches: inverted.set.keptPatches ? inverted.set.keptPatches.map((k) => [...k]) : null,
    teacherConfidence: inverted.teacherConfidence,
    iterationsPerSecond: inverted.iterationsPerSecond,
  };
  writeFileAtomic(path.join(out, 'surrogate.json'), JSON.stringify(file));
}

/** The surrogate ids (zoo ids) stored under `dir`. */
export function listSurrogates(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new MissingResourceError(`no surrogate directory ${dir}; run "lora-recycle invert" first`);
  return fs.readdirSync(dir).filter((id) => fs.existsSync(path.join(dir, id, 'surrogate.json'))).sort();
}

/** Reads `<dir>/<id>/surrogate.json` back; `teacher` is rebuilt by the caller from the zoo. */
export function loadSurrogate(dir: string, id: string, teacher: Teacher): InvertedLora {
  const file = path.join(dir, id, 'surrogate.json');
  const json = readJsonFile(file, 'not a readable surrogate file') as SurrogateFile;
  if (json.format !== 'lora-recycle/surrogate@1') throw new FileFormatError(file, `expected format lora-recycle/surrogate@1, found ${json.format}`);
  const bytes = Buffer.from(json.images, 'base64');
  const count = json.shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== count * 4) throw new FileFormatError(file, `images hold ${bytes.byteLength} bytes, shape [${json.shape}] needs ${count * 4}`);
  if (json.targets.length !== json.shape[0]) throw new FileFormatError(file, `${json.targets.length} targets for ${json.shape[0]} images`);
  const values = new Float32Array(count);
  new Uint8Array(values.buffer).set(bytes);
  const images = tf.tensor4d(values, json.shape);
  return {
    set: { images, targets: json.targets, keptPatches: json.keptPatches, teacher },
    pixels: tf.clone(images), // not used after loading; kept so disposeInverted works uniformly
    masks: null,
    teacherConfidence: json.teacherConfidence,
    iterationsPerSecond: json.iterationsPerSecond,
  };
}
