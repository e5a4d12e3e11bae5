import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassInfo, ImageDataset, ImageRecord } from '../../src/data/dataset';
import { episodeTensors, sampleEpisodes } from '../../src/data/episodes';
import { CancelledError, CompatibilityError, FileFormatError } from '../../src/errors';
import { labelsAsArray } from '../../src/evaluation';
import { normalizeImages, VisionTransformer, type ViTConfig } from '../../src/model';
import { DEFAULT_SHAPE_AUGMENT } from '../../src/training/shape-augment';
import { addPeftAdapters, buildZoo, loadZoo, pretuneLora, readZooManifest, type ZooBuildOptions } from '../../src/zoo';
import type { PretuneOptions } from '../../src/zoo/pretune';
import { ZOO_TEST_VIT } from '../model/tiny-config';

// the backbone the PEFT fixture was saved for (test/io/fixtures/peft-clip-r4/backbone-config.json)
const PEFT_BACKBONE: ViTConfig = {
  imageSize: 32,
  patchSize: 4,
  channels: 3,
  width: 64,
  depth: 2,
  heads: 2,
  mlpWidth: 128,
  projectionDim: 32,
  layerNormEps: 1e-5,
};
const PEFT_FIXTURE = path.join(__dirname, '..', 'io', 'fixtures', 'peft-clip-r4');

/** 8 base classes, 8 images each from 8 "artists": class c = a fixed colour pattern plus noise. */
function syntheticDataset(): ImageDataset {
  const size = 8;
  const classes: ClassInfo[] = Array.from({ length: 8 }, (_, c) => ({ id: `toy:${c}`, name: `toy ${c}`, split: 'base' as const }));
  const records = new Map<string, ImageRecord[]>();
  const pixels: Float32Array[] = [];
  let seed = 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 4294967296;
  };
  for (let c = 0; c < classes.length; c++) {
    const pattern = Float32Array.from({ length: size * size * 3 }, (_, i) => ((i * (c + 3)) % 7) / 7);
    records.set(
      classes[c].id,
      Array.from({ length: 8 }, (_, k) => {
        pixels.push(pattern.map((v) => Math.min(1, Math.max(0, v + 0.1 * (random() - 0.5)))));
        return { classId: classes[c].id, source: `artist-${k}`, index: pixels.length - 1 };
      }),
    );
  }
  return {
    name: 'toy',
    imageSize: size,
    classes,
    licences: { toy: 'generated' },
    imagesOf: (id) => records.get(id) ?? [],
    pixels: (r) => pixels[r.index],
  };
}

const OPTIONS: ZooBuildOptions = { size: 3, ways: 3, shots: 2, heldOut: 2, rank: 2, steps: 8, learningRate: 0.01, seed: 7 };
let backbone: VisionTransformer;
let dataset: ImageDataset;
let tmp: string;

beforeAll(() => {
  backbone = VisionTransformer.random(ZOO_TEST_VIT, 3);
  dataset = syntheticDataset();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zoo-test-'));
});
afterAll(() => {
  backbone.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The tensor bytes of every LoRA file in `dir` (the header also holds the tuning time, which differs run to run). */
const tensorBytes = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map((f) => {
      const bytes = fs.readFileSync(path.join(dir, f));
      return bytes.subarray(8 + Number(bytes.readBigUInt64LE(0))).toString('base64');
    });

/** One 3-way task of the dataset's base classes, normalised (the caller disposes its tensors). */
const baseTask = (shots: number, queries: number, seed: number) =>
  episodeTensors(dataset, sampleEpisodes(dataset, 'base', { ways: 3, shots, queries, count: 1, seed }).episodes[0], normalizeImages);

describe('pretuneLora', () => {
  it('lowers the loss, moves B off zero, and leaks no tensors across repeated tuning', () => {
    const task = baseTask(2, 2, 1);
    const losses: number[] = [];
    const first = pretuneLora(backbone, task, 3, {
      rank: 2,
      steps: 15,
      learningRate: 0.02,
      seed: 1,
      onStep: (_, loss) => losses.push(loss),
    });
    expect(losses).toHaveLength(15);
    expect(losses[14]).toBeLessThan(losses[0]);
    expect(first.record.finalLoss).toBe(losses[14]);
    expect(first.record.heldOutImages).toBe(6);
    // NN on the same held-out images, by hand: nearest class mean of the frozen backbone's features
    const nnByHand = tf.tidy(() => {
      const support = backbone.forward(task.support).features.arraySync();
      const query = backbone.forward(task.query).features.arraySync();
      const supportLabels = labelsAsArray(task.supportLabels);
      const queryLabels = labelsAsArray(task.queryLabels);
      const means = [0, 1, 2].map((c) => {
        const rows = support.filter((_, i) => supportLabels[i] === c);
        return rows[0].map((_, d) => rows.reduce((s, r) => s + r[d], 0) / rows.length);
      });
      const nearest = (f: number[]) =>
        means.map((m) => m.reduce((s, v, d) => s + (v - f[d]) ** 2, 0)).reduce((best, d, c, all) => (d < all[best] ? c : best), 0);
      return query.filter((f, i) => nearest(f) === queryLabels[i]).length / query.length;
    });
    expect(first.record.nnHeldOutAccuracy).toBeCloseTo(nnByHand, 10);
    const bNorm = tf.tidy(() => tf.addN(first.lora.toParameters().factors.map((f) => tf.sum(tf.abs(f.b)))).dataSync()[0]);
    expect(bNorm).toBeGreaterThan(0);
    first.lora.dispose();
    first.head.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const again = pretuneLora(backbone, task, 3, { rank: 2, steps: 3, learningRate: 0.02, seed: i });
      again.lora.dispose();
      again.head.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([task.support, task.query]);
  });
});

describe('pretuneLora with the head started from prototypes', () => {
  it("starts where NN stands: untuned, its held-out accuracy is NN's on the same images", () => {
    const task = baseTask(3, 3, 4);
    const before = tf.memory().numTensors;
    const untuned = pretuneLora(backbone, task, 3, { rank: 2, steps: 0, learningRate: 0.02, seed: 5, headInit: 'prototypes' });
    expect(untuned.record.heldOutAccuracy).toBe(untuned.record.nnHeldOutAccuracy);
    untuned.lora.dispose();
    untuned.head.dispose();
    const losses: number[] = [];
    const tuned = pretuneLora(backbone, task, 3, {
      rank: 2,
      steps: 6,
      learningRate: 0.02,
      seed: 5,
      headInit: 'prototypes',
      onStep: (_, loss) => losses.push(loss),
    });
    expect(losses[5]).toBeLessThan(losses[0]);
    tuned.lora.dispose();
    tuned.head.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([task.support, task.query]);
  });
});

/** The LoRA factors (A then B of every site, flat) that pretuneLora ends with on `task`; frees the rest. */
function tunedFactors(task: ReturnType<typeof baseTask>, options: PretuneOptions): number[] {
  const tuned = pretuneLora(backbone, task, 3, options);
  const parameters = tuned.lora.toParameters();
  const values = parameters.factors.flatMap((f) => [...f.a.dataSync(), ...f.b.dataSync()]);
  parameters.factors.forEach((f) => tf.dispose([f.a, f.b]));
  tuned.lora.dispose();
  tuned.head.dispose();
  return values;
}

describe('pretuneLora with shape augmentation or adversarial training', () => {
  it.each([
    ['a fresh augmented copy each step', { augment: DEFAULT_SHAPE_AUGMENT }],
    ['L2-PGD copies of its images', { adversarial: { epsilon: 2, steps: 2 } }],
  ])('tunes on %s: the same seed gives the same LoRA, another than without, and no tensors leak', (_, change) => {
    const task = baseTask(2, 2, 2);
    const options = { rank: 2, steps: 3, learningRate: 0.02, seed: 3 };
    const before = tf.memory().numTensors;
    const changed = tunedFactors(task, { ...options, ...change });
    expect(tunedFactors(task, { ...options, ...change })).toEqual(changed);
    const plain = tunedFactors(task, options);
    expect(Math.max(...plain.map((v, i) => Math.abs(v - changed[i])))).toBeGreaterThan(1e-6);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([task.support, task.query]);
  });
});

describe('buildZoo and loadZoo', () => {
  it('writes one LoRA file per task and a manifest, and loads them back with heads and records', async () => {
    const dir = path.join(tmp, 'full');
    const events: number[] = [];
    const zoo = await buildZoo(backbone, dataset, dir, {
      ...OPTIONS,
      onEvent: (e) => {
        if (e.kind === 'step') events.push(e.step);
      },
    });
    expect(events).toEqual([1, 2, 3]);
    expect(zoo.size).toBe(3);
    const manifest = readZooManifest(dir)!;
    expect(manifest.entries.map((e) => e.id)).toEqual(['lora-0000', 'lora-0001', 'lora-0002']);
    for (const entry of zoo.entries) {
      expect(entry.classIds).toHaveLength(3);
      expect(entry.head!.classes).toBe(3);
      expect(entry.parameters.factors).toHaveLength(2 * ZOO_TEST_VIT.depth); // q and v of every block
      expect(entry.record!.steps).toBe(OPTIONS.steps);
    }
    const bundle = (zoo as unknown as Record<symbol, () => Record<string, unknown>>)[Symbol.for('Jupyter.display')]();
    const payload = bundle['application/vnd.lora-recycle.zoo+json'] as { loras: { id: string; classes: string[] }[] };
    expect(payload.loras.map((l) => l.id)).toEqual(manifest.entries.map((e) => e.id));
    const reloaded = loadZoo(dir, backbone);
    const same = reloaded.entries.every((e, i) =>
      e.parameters.factors.every(
        (f, j) => tf.tidy(() => tf.max(tf.abs(tf.sub(f.b, zoo.entries[i].parameters.factors[j].b))).dataSync()[0]) === 0,
      ),
    );
    expect(same).toBe(true);
    zoo.dispose();
    reloaded.dispose();
  });

  it('resumes an interrupted build and ends with the files of an uninterrupted one', async () => {
    const dir = path.join(tmp, 'resumed');
    const controller = new AbortController();
    const stopped = buildZoo(backbone, dataset, dir, {
      ...OPTIONS,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'step' && e.step === 2) controller.abort();
      },
    });
    await expect(stopped).rejects.toThrow(new CancelledError(`zoo stopped after 2 of 3 LoRAs; state saved to ${dir}`));
    expect(readZooManifest(dir)!.entries).toHaveLength(2);
    const done = await buildZoo(backbone, dataset, dir, OPTIONS);
    expect(done.size).toBe(3);
    done.dispose();
    expect(tensorBytes(dir)).toEqual(tensorBytes(path.join(tmp, 'full')));
  });

  it('refuses another backbone, another recipe in the same directory, and a corrupt manifest', async () => {
    const dir = path.join(tmp, 'full');
    const other = VisionTransformer.random(ZOO_TEST_VIT, 4);
    expect(() => loadZoo(dir, other)).toThrow(CompatibilityError);
    await expect(buildZoo(other, dataset, dir, OPTIONS)).rejects.toThrow(CompatibilityError);
    await expect(buildZoo(backbone, dataset, dir, { ...OPTIONS, steps: 9 })).rejects.toThrow(/another backbone or recipe/);
    other.dispose();
    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(broken);
    fs.writeFileSync(path.join(broken, 'zoo.json'), '{"format": "lora-zoo@1", "backbone": {}');
    expect(() => loadZoo(broken, backbone)).toThrow(FileFormatError);
    fs.writeFileSync(
      path.join(broken, 'zoo.json'),
      JSON.stringify({ ...readZooManifest(dir), entries: [{ id: 'a b', format: 'lora', path: 'x', classIds: [], record: null }] }),
    );
    expect(() => loadZoo(broken, backbone)).toThrow(/entries\[0\]\.id/);
  });
});

describe('LoRAs saved by PEFT', () => {
  it('join a zoo and load with their alpha/r scale, without a head', () => {
    const peftBackbone = VisionTransformer.random(PEFT_BACKBONE, 0);
    const dir = path.join(tmp, 'peft');
    addPeftAdapters(dir, peftBackbone, [{ id: 'peft-r4', path: PEFT_FIXTURE }]);
    const zoo = loadZoo(dir, peftBackbone);
    expect(zoo.size).toBe(1);
    expect(zoo.entries[0].head).toBeNull();
    expect(zoo.entries[0].parameters.rank).toBe(4);
    expect(zoo.entries[0].parameters.scale).toBe(2);
    expect(() => addPeftAdapters(dir, peftBackbone, [{ id: 'peft-r4', path: PEFT_FIXTURE }])).toThrow(/already has/);
    expect(() => addPeftAdapters(path.join(tmp, 'peft-micro'), backbone, [{ id: 'x', path: PEFT_FIXTURE }])).toThrow();
    zoo.dispose();
    peftBackbone.dispose();
  });
});
