import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters';
import { FileFormatError, MissingResourceError } from '../../src/errors';
import { invertLora } from '../../src/inversion';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { normalizeImages } from '../../src/model/preprocess';
import type { VisionTransformer } from '../../src/model/vision-transformer';
import {
  disposeSurrogateSets,
  listSurrogateSets,
  readSurrogateData,
  readSurrogateSet,
  readSurrogateSetsWithTeachers,
  writeSurrogateSet,
  SURROGATE_JSON,
  SURROGATE_TENSORS,
  type RecordedSurrogateSet,
  type Teacher,
} from '../../src/surrogate';
import { randomTeacher, responsiveBackbone, SMALL_VIT } from '../inversion/fixtures';

const same = (a: tf.Tensor, b: tf.Tensor) => expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
let tmp: string;
let backbone: VisionTransformer;
let teacher: Teacher & { dispose(): void };
let pruned: RecordedSurrogateSet; // an inversion with pruning (masks and kept patches)
let dense: RecordedSurrogateSet; // one without

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'surrogate-file-'));
  backbone = responsiveBackbone(SMALL_VIT, 1);
  teacher = randomTeacher(SMALL_VIT, 3, 2);
  const options = { ways: 3, shots: 1, queries: 1, steps: 3, seed: 4, classNames: ['a', 'b', 'c'] };
  const withPruning = await invertLora(backbone, teacher, null, { ...options, pruning: { 1: 0.5 }, pruneFrom: 0 });
  const without = await invertLora(backbone, teacher, null, options);
  pruned = withPruning.toRecordedSurrogateSet('lora-p');
  dense = without.toRecordedSurrogateSet('lora-d');
  withPruning.dispose();
  without.dispose();
});
afterAll(() => {
  for (const set of [pruned, dense]) tf.dispose([set.images, set.pixels, ...(set.masks ? [set.masks] : [])]);
  teacher.dispose();
  backbone.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A set read back with a teacher of its own (the set owns its adapter). */
function readBack(dir: string): RecordedSurrogateSet {
  return readSurrogateSet(dir, { adapter: LoRA.create(SMALL_VIT, { seed: 2 }), head: teacher.head }); // the head is shared, as the zoo's
}

describe('writeSurrogateSet / readSurrogateSet', () => {
  it('round-trips a pruned inversion: same pixels, masks, student images, targets, kept patches and record', () => {
    const dir = path.join(tmp, 'pruned');
    writeSurrogateSet(dir, pruned);
    const before = tf.memory().numTensors;
    const back = readBack(dir);
    same(back.pixels, pruned.pixels);
    same(back.masks!, pruned.masks!);
    same(back.images, pruned.images); // recomputed from pixels ⊙ masks: bit for bit what meta-training saw
    expect(back.targets).toEqual(pruned.targets);
    expect(back.keptPatches).toEqual(pruned.keptPatches);
    expect(back.record).toEqual(pruned.record);
    expect(back.record.teacherLora).toBe('lora-p');
    expect(back.record.seed).toBe(4); // the inversion's seed, kept with its images
    expect(fs.readdirSync(dir)).toContain('masked-0.png');
    disposeSurrogateSets([back]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stores and returns pixels in [0, 1] (the images before normalisation), not the normalised student input', () => {
    const dir = path.join(tmp, 'dense');
    writeSurrogateSet(dir, dense);
    const { pixels, masks, info } = readSurrogateData(dir);
    expect(masks).toBeNull();
    expect(info.keptPatches).toBeNull();
    expect(pixels.every((v) => v >= 0 && v <= 1)).toBe(true);
    const back = readBack(dir);
    same(back.pixels, dense.pixels);
    const normalised = normalizeImages(back.pixels);
    same(back.images, normalised);
    expect(Array.from(back.images.dataSync()).some((v) => v < 0 || v > 1)).toBe(true); // the two differ
    normalised.dispose();
    disposeSurrogateSets([back]);
  });

  it('replaces an earlier set as a whole and lists sets by folder', () => {
    const root = path.join(tmp, 'listed');
    writeSurrogateSet(path.join(root, 'x'), pruned);
    fs.writeFileSync(path.join(root, 'x', 'stale.txt'), 'old');
    writeSurrogateSet(path.join(root, 'x'), dense);
    writeSurrogateSet(path.join(root, 'w'), dense);
    fs.mkdirSync(path.join(root, 'not-a-set'));
    expect(fs.existsSync(path.join(root, 'x', 'stale.txt'))).toBe(false);
    expect(readSurrogateData(path.join(root, 'x')).info.teacherLora).toBe('lora-d');
    expect(listSurrogateSets(root)).toEqual(['w', 'x']);
    expect(() => listSurrogateSets(path.join(tmp, 'none'))).toThrow(MissingResourceError);
  });
});

describe('readSurrogateData on bad files', () => {
  /** A copy of the pruned set whose surrogate.json is edited by `change`. */
  function withInfo(name: string, change: (info: Record<string, unknown>) => void): string {
    const dir = path.join(tmp, name);
    writeSurrogateSet(dir, pruned);
    const file = path.join(dir, SURROGATE_JSON);
    const info = JSON.parse(fs.readFileSync(file, 'utf8'));
    change(info);
    fs.writeFileSync(file, JSON.stringify(info));
    return dir;
  }

  it('names a missing set, a missing tensors file and invalid JSON', () => {
    expect(() => readSurrogateData(path.join(tmp, 'nothing'))).toThrow(/holds no surrogate set \(no surrogate\.json\)/);
    const dir = withInfo('no-tensors', () => undefined);
    fs.rmSync(path.join(dir, SURROGATE_TENSORS));
    expect(() => readSurrogateData(dir)).toThrow(/surrogate\.json without its tensors/);
    fs.writeFileSync(path.join(dir, SURROGATE_JSON), '{ not json');
    expect(() => readSurrogateData(dir)).toThrow(FileFormatError);
  });

  it('names the field that does not fit', () => {
    const cases: [string, (info: Record<string, unknown>) => void, RegExp][] = [
      [
        'format',
        (i) => {
          i.format = 'lora-recycle/surrogate@1';
        },
        /format: expected "lora-recycle\/surrogate@2", found "lora-recycle\/surrogate@1"/,
      ],
      [
        'targets',
        (i) => {
          i.targets = [0, 1];
        },
        /targets: expected 6 targets/,
      ],
      [
        'target range',
        (i) => {
          i.targets = [0, 0, 1, 1, 2, 3];
        },
        /targets \(integers in 0\.\.2\)/,
      ],
      [
        'confidence',
        (i) => {
          i.targetConfidence = [2, 0, 0, 0, 0, 0];
        },
        /targetConfidence: expected 6 probabilities/,
      ],
      [
        'kept rows',
        (i) => {
          (i.keptPatches as number[][])[1] = [0];
        },
        /keptPatches: expected rows of one length/,
      ],
      [
        'record',
        (i) => {
          delete i.teacherLora;
        },
        /teacherLora: expected the inverted LoRA \(a string\), found nothing/,
      ],
      [
        'seed',
        (i) => {
          i.seed = 'four';
        },
        /seed: expected the inversion's seed \(an integer\) or nothing, found "four"/,
      ],
    ];
    for (const [name, change, message] of cases) {
      expect(() => readSurrogateData(withInfo(`bad-${name}`, change)), name).toThrow(message);
    }
  });

  it('reads a set written before the seed was kept (no seed in surrogate.json): its record has none', () => {
    const back = readBack(
      withInfo('no-seed', (i) => {
        delete i.seed;
      }),
    );
    expect(back.record.seed).toBeUndefined();
    expect(back.record.teacherLora).toBe('lora-p');
    disposeSurrogateSets([back]);
  });

  it('checks the tensors against surrogate.json: shape, masks only when pruned, pixels in [0, 1]', () => {
    const shape = withInfo('bad-shape', (i) => {
      i.shape = [6, 8, 8, 3];
    });
    expect(() => readSurrogateData(shape)).toThrow(
      /expected F32 tensor "pixels" \[6,8,8,3\] \(shape of surrogate\.json\), found F32 \[6,16,16,3\]/,
    );
    const unpruned = withInfo('bad-masks', (i) => {
      i.keptPatches = null;
    });
    expect(() => readSurrogateData(unpruned)).toThrow(/"masks" without keptPatches/);

    const normalised = path.join(tmp, 'normalised');
    writeSurrogateSet(normalised, dense);
    const file = path.join(normalised, SURROGATE_TENSORS);
    const { metadata } = readSafetensors(file);
    writeSafetensors(file, { pixels: dense.images }, metadata); // what the old files held under "images"
    expect(() => readSurrogateData(normalised)).toThrow(/"pixels" must hold pixels in \[0, 1\], found -?\d/);
  });

  it('refuses to write masks without kept patches', () => {
    expect(() => writeSurrogateSet(path.join(tmp, 'w'), { ...dense, masks: pruned.masks })).toThrow(
      /masks must be given exactly when patches were pruned/,
    );
  });
});

describe('readSurrogateSetsWithTeachers', () => {
  const teacherSource = (id: string, head = true) => {
    const lora = LoRA.create(SMALL_VIT, { seed: 5 });
    const parameters = lora.toParameters();
    lora.dispose();
    return { id, parameters, head: head ? teacher.head : null };
  };
  const disposeSources = (sources: { parameters: { factors: { a: tf.Tensor; b: tf.Tensor }[] } }[]) =>
    sources.forEach((s) => tf.dispose(s.parameters.factors.flatMap((f) => [f.a, f.b])));

  it('reads every set of a folder with the LoRA of its id as teacher, and names a set without one; nothing leaks', () => {
    const dir = path.join(tmp, 'by-teacher');
    writeSurrogateSet(path.join(dir, 'lora-d'), dense);
    writeSurrogateSet(path.join(dir, 'lora-p'), pruned);
    const sources = [teacherSource('lora-p'), teacherSource('lora-d')];
    const headless = teacherSource('lora-d', false);
    const before = tf.memory().numTensors;
    const sets = readSurrogateSetsWithTeachers(dir, sources);
    expect(sets.map((s) => s.record.teacherLora)).toEqual(['lora-d', 'lora-p']);
    disposeSurrogateSets(sets);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => readSurrogateSetsWithTeachers(dir, [sources[1]])).toThrow(
      new MissingResourceError('surrogate lora-p has no LoRA of that id in the zoo (its teacher)'),
    );
    expect(() => readSurrogateSetsWithTeachers(dir, [headless, sources[0]])).toThrow(/LoRA lora-d of the zoo has no task head/);
    expect(() => readSurrogateSetsWithTeachers(dir, [sources[1]])).toThrow(/lora-p/); // after lora-d was read: that set is freed again
    expect(tf.memory().numTensors).toBe(before);
    fs.mkdirSync(path.join(tmp, 'empty'));
    expect(() => readSurrogateSetsWithTeachers(path.join(tmp, 'empty'), sources)).toThrow(
      /no surrogates in .*empty; run "lora-recycle invert" first/,
    );
    disposeSources([...sources, headless]);
  });
});
