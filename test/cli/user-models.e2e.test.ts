import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHfClipVision } from '../../src/io/hf-clip';
import { loadLora } from '../../src/io/load-lora';
import { disposeLoraRecord, loadLoraFile } from '../../src/io/lora-file';
import { parsePeftFactorName } from '../../src/io/peft-names';
import { readSafetensors, type SafetensorsEntry, toFloat32 } from '../../src/io/safetensors';
import { siteKey } from '../../src/model/adapter-hook';
import { normalizeImages } from '../../src/model/preprocess';
import { VisionTransformer } from '../../src/model/vision-transformer';
import { loadTeacher } from '../../src/parallel/invert-job';
import { missingVenvReason, REPO_ROOT, VENV_PYTHON } from '../reference/reference-data';
import { useTestBackend } from '../test-backend';

/**
 * A user's own models through the whole method on the command line (docs/your-own-models.md):
 * transformers and peft (test/cli/fixtures/user_models.py) make a CLIPVisionModel folder and two
 * PEFT LoRA folders with their heads; `lora-recycle invert`, `meta-train` and `evaluate` run on
 * them (--backbone, --zoo) and on an image folder written here (--data), with no built-in
 * backbone or zoo; the meta-LoRA's PEFT directory is then loaded back by peft. Without the venv
 * the test is skipped locally, and fails under CI=true (as test/reference).
 */

const SCRIPT = path.join(__dirname, 'fixtures', 'user_models.py');
/** `npm run cli`'s command: the launcher is part of what is tested. */
const LAUNCHER = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).scripts.cli as string).split(' ');
const CLASSES = { 'lora-a': ['airplane', 'bird', 'cat'], 'lora-b': ['deer', 'frog', 'horse'] };
const OUTPUT_TOLERANCE = 1e-4;

/** Tiny budgets: 3-way episodes, 4 inversion steps, 3 meta-training steps, 2 evaluation episodes. */
const RUN_CONFIG = {
  name: 'user-models-e2e',
  backbone: { source: 'random', config: 'tiny' }, // replaced by --backbone in every command
  data: { imageSize: 32 },
  zoo: { size: 2, ways: 3, shots: 1, steps: 1, learningRate: 0.001, rank: 2 },
  inversion: { steps: 4, shots: 1, queries: 2, learningRate: 0.25, priorWeight: 0.01, pruning: {}, pruneStartFraction: 0.25 },
  metaTraining: {
    steps: 3,
    shots: 1,
    queries: 2,
    interpolatedFraction: 0.5,
    distance: 'euclidean',
    validateEvery: 3,
    checkpointEvery: 3,
    validationEpisodes: 2,
    flip: true,
    rank: 2,
    targets: ['q', 'v'],
  },
  evaluation: { episodes: 2, ways: 3, shots: [1], queries: 2, sets: [], seed: 5 },
  baselines: { methods: ['nn'], episodes: 2, tuningSteps: 1, learningRate: 0.001, fullTuningSteps: 1, fullLearningRate: 0.0001 },
};

const venvMissing = missingVenvReason();
const inCi = process.env.CI === 'true';
if (venvMissing && !inCi) console.warn(`skipped: ${venvMissing}`);

it.runIf(inCi || venvMissing === null)('has the Python venv that makes the user models', () => {
  expect(venvMissing, `${venvMissing} (required when CI=true)`).toBeNull();
});

let tmp: string;
const at = (...parts: string[]) => path.join(tmp, ...parts);

function python(...args: string[]): void {
  try {
    execFileSync(VENV_PYTHON, [SCRIPT, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
      env: {
        ...process.env,
        HF_HUB_OFFLINE: '1',
        TRANSFORMERS_OFFLINE: '1',
        HF_HUB_DISABLE_TELEMETRY: '1',
        TQDM_DISABLE: '1',
        PYTHONWARNINGS: 'ignore',
      },
    });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '')
      .trim()
      .split('\n')
      .slice(-15)
      .join('\n');
    throw new Error(`${SCRIPT} ${args[0]} failed (${(error as Error).message.split('\n')[0]}):\n${stderr}`);
  }
}

/** Runs `lora-recycle <args>` as its own process (private data cache, inversion in-process). */
function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(LAUNCHER[0], [...LAUNCHER.slice(1), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, LORA_RECYCLE_DATA_DIR: at('data-cache'), LORA_RECYCLE_PARALLEL: 'in-process' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectSuccess(run: { code: number | null; stdout: string; stderr: string }): void {
  expect(run.code, `stdout:\n${run.stdout}\nstderr (end):\n${run.stderr.slice(-2000)}`).toBe(0);
}

/**
 * An image folder with validation/ and novel/ splits of 4 classes × 4 PNGs each: class c a
 * colour of its own, every image with its own texture.
 */
async function writeImageFolder(root: string): Promise<void> {
  const colours = [
    [220, 40, 40],
    [40, 200, 60],
    [40, 80, 230],
    [230, 200, 30],
  ];
  for (const split of ['validation', 'novel']) {
    for (const [c, colour] of colours.entries()) {
      const dir = path.join(root, split, `${split}-${c}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 4; i++) {
        const pixels = Buffer.alloc(32 * 32 * 3);
        for (let p = 0; p < 32 * 32; p++) {
          for (let ch = 0; ch < 3; ch++)
            pixels[3 * p + ch] = Math.max(0, Math.min(255, colour[ch] + ((p * 7 + i * 13 + ch * 5) % 41) - 20));
        }
        await sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } })
          .png()
          .toFile(path.join(dir, `${i}.png`));
      }
    }
  }
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

const tensorOf = (entry: SafetensorsEntry) => tf.tensor(toFloat32(entry), entry.shape);

describe.skipIf(venvMissing !== null)('your own CLIP backbone and PEFT LoRAs through invert, meta-train and evaluate', () => {
  beforeAll(async () => {
    await useTestBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'user-models-'));
    python('make', tmp);
    fs.writeFileSync(at('run.json'), JSON.stringify(RUN_CONFIG));
    await writeImageFolder(at('images'));
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('inverts each PEFT LoRA of the zoo folder on the CLIP folder, its teacher being the head and classes beside the adapter', async () => {
    const run = await cli('invert', '--config', at('run.json'), '--backbone', at('clip'), '--zoo', at('loras'), '--out', at('surrogates'));
    expectSuccess(run);
    for (const [id, classes] of Object.entries(CLASSES)) {
      expect(run.stdout).toContain(`invert: ${id} -> ${at('surrogates', id)}`);
      const record = JSON.parse(fs.readFileSync(at('surrogates', id, 'surrogate.json'), 'utf8'));
      expect(record.classNames).toEqual(classes);
      expect(record.teacherLora).toBe(at('loras', id));
      expect(record.targets).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]); // 3 classes × (1 shot + 2 queries)
    }
  });

  it('meta-trains on the surrogates, validating on the image folder, and writes the meta-LoRA as a file and as a PEFT directory for a CLIPVisionModel', async () => {
    const run = await cli(
      'meta-train',
      '--config',
      at('run.json'),
      '--backbone',
      at('clip'),
      '--zoo',
      at('loras'),
      '--surrogates',
      at('surrogates'),
      '--data',
      at('images'),
      '--out',
      at('meta'),
    );
    expectSuccess(run);
    expect(run.stdout).toMatch(
      /meta-train: 3 steps, .* best validation [\d.]+ % at step 3 -> .*meta-lora\.safetensors \(PEFT adapter: .*meta-lora-peft\)/,
    );
    const config = JSON.parse(fs.readFileSync(at('meta', 'meta-lora-peft', 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 2, base_model_name_or_path: at('clip') });
    expect(config.target_modules).toEqual([
      'encoder.layers.0.self_attn.q_proj',
      'encoder.layers.0.self_attn.v_proj',
      'encoder.layers.1.self_attn.q_proj',
      'encoder.layers.1.self_attn.v_proj',
    ]);
  });

  it('evaluates NN and the meta-LoRA read from its PEFT directory on novel episodes of the image folder', async () => {
    const run = await cli(
      'evaluate',
      '--config',
      at('run.json'),
      '--backbone',
      at('clip'),
      '--meta',
      at('meta', 'meta-lora-peft'),
      '--methods',
      'nn,lora-recycle',
      '--data',
      at('images'),
      '--out',
      at('metrics.json'),
    );
    expectSuccess(run);
    const metrics = JSON.parse(fs.readFileSync(at('metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ ways: 3, shots: 1, queries: 2 });
    expect(metrics.results.map((r: { method: string }) => r.method)).toEqual(['nn', 'lora-recycle']);
    for (const r of metrics.results) {
      expect(r.n).toBe(2);
      expect(r.accuracies).toHaveLength(2);
      for (const a of r.accuracies) expect(a).toBeGreaterThanOrEqual(0);
      expect(run.stdout).toContain(`${r.method}: `);
    }
  });

  it("runs PyTorch on the same files once: the meta-LoRA through peft, each LoRA's teacher on its surrogates", () => {
    const teachers = Object.keys(CLASSES).flatMap((id) => [at('loras', id), at('surrogates', id, 'surrogate.safetensors')]);
    python('verify', at('clip'), at('meta', 'meta-lora-peft'), at('pytorch'), ...teachers);
    expect(fs.readdirSync(at('pytorch')).sort()).toEqual(['lora-a-teacher.safetensors', 'lora-b-teacher.safetensors', 'meta.safetensors']);
  });

  it("reads the CLIP folder, the PEFT adapters and their heads as PyTorch does: the teachers' probabilities on the surrogates agree", () => {
    const { config, weights } = loadHfClipVision(at('clip'));
    const backbone = new VisionTransformer(config, weights);
    expect(config.projectionDim).toBe(config.width); // a CLIPVisionModel: f(x) is the pooler_output
    for (const id of Object.keys(CLASSES)) {
      const surrogates = at('surrogates', id, 'surrogate.safetensors');
      const expected = tensorOf(readSafetensors(at('pytorch', `${id}-teacher.safetensors`)).tensors.get('probabilities')!);
      const { teacher } = loadTeacher(at('loras', id), config);
      const pixels = tensorOf(readSafetensors(surrogates).tensors.get('pixels')!) as tf.Tensor4D;
      const found = tf.tidy(() =>
        tf.softmax(teacher.head.apply(backbone.forward(normalizeImages(pixels), { adapter: teacher.adapter }).features)),
      );
      expect(maxAbsDiff(found, expected)).toBeLessThan(OUTPUT_TOLERANCE);
      tf.dispose([expected, pixels, found]);
      teacher.dispose();
    }
    backbone.dispose();
  });

  it('the exported meta-LoRA loads in peft with every factor, the same values and scale, and the same adapted outputs', () => {
    const loaded = readSafetensors(at('pytorch', 'meta.safetensors')).tensors;
    const record = loadLoraFile(at('meta', 'meta-lora.safetensors')); // the meta-LoRA as meta-train saved it
    const ours = new Map<string, tf.Tensor>(
      record.parameters.factors.flatMap((f): [string, tf.Tensor][] => [
        [`${siteKey(f.site)} A`, tf.transpose(f.a)],
        [`${siteKey(f.site)} B`, tf.transpose(f.b)], // PEFT layouts: A [r, in], B [out, r]
      ]),
    );
    const peft = new Map<string, SafetensorsEntry>(
      [...loaded].flatMap(([name, entry]): [string, SafetensorsEntry][] => {
        const parsed = parsePeftFactorName(name);
        return parsed ? [[`${siteKey(parsed.site)} ${parsed.factor}`, entry]] : [];
      }),
    );
    expect([...peft.keys()].sort()).toEqual([...ours.keys()].sort());
    for (const [key, tensor] of ours) {
      expect(Array.from(toFloat32(peft.get(key)!)), key).toEqual(Array.from(tensor.dataSync()));
    }
    expect(new Set(toFloat32(loaded.get('scaling')!))).toEqual(new Set([record.parameters.scale]));

    const { config, weights } = loadHfClipVision(at('clip'));
    const backbone = new VisionTransformer(config, weights);
    const meta = loadLora(at('meta', 'meta-lora-peft'), { config });
    const input = tf.tidy(() => tf.transpose(tensorOf(loaded.get('pixel_values')!), [0, 2, 3, 1]) as tf.Tensor4D); // NCHW → NHWC
    const pooled = tensorOf(loaded.get('pooled')!);
    const found = tf.tidy(() => backbone.forward(input, { adapter: meta }).features);
    expect(maxAbsDiff(found, pooled)).toBeLessThan(OUTPUT_TOLERANCE);
    tf.dispose([input, pooled, found, ...ours.values()]);
    meta.dispose();
    backbone.dispose();
    disposeLoraRecord(record);
  });
});
