import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import type { Adapter } from '../model/adapter-hook';
import { CompatibilityError, ConfigError } from '../errors';
import { prototypeLogits, prototypes, type PrototypeDistance } from '../evaluation';
import type { RunControl } from '../progress/events';
import { runSteps } from '../progress/run-steps';
import type { FeatureModel } from './feature-model';
import { calibrateLogitScale } from './logit-scale';
import {
  type BestSoFar,
  loadMetaCheckpoint,
  metaLoraLayout,
  saveMetaCheckpoint,
  type MetaTrainStep,
  type MetaValidation,
} from './checkpoint';
import { distillationLoss, episodeCrossEntropy } from './losses';
import { Adam } from '../optim/adam';
import { warmupCosineRate, type WarmupCosineSchedule } from '../optim/schedule';
import { SeededRandom } from '../random/seeded-random';
import { surrogateSetsDigest } from './run-fingerprint';
import { PAPER_SCHEDULE } from './schedule';
import {
  episodeImages,
  imagesByClass,
  interpolatedEpisode,
  singleLoraEpisode,
  type EpisodeShape,
  type SurrogateEpisode,
} from './surrogate-episodes';
import type { SurrogateSet } from '../surrogate/set';

export interface MetaTrainOptions extends RunControl {
  steps: number; // total optimisation steps (one episode each)
  episode: EpisodeShape; // N-way K-shot Q-query
  patchGrid: number; // image side / patch side, to mirror kept patches under flips
  /** Probability that a step draws a cross-task interpolated episode (CE) instead of a single-LoRA one (KL). */
  interpolatedFraction?: number; // default 0.5
  distance?: PrototypeDistance; // default 'euclidean'
  /**
   * s in p(y=i|x) = softmax_i(−s·d(f(x), c_i)) for the training losses only (evaluation's argmax
   * does not depend on it). Default 1, the paper's; raw feature distances can make the softmax far
   * too sharp or too flat for the teacher's distribution, and s sets that temperature.
   * 'calibrated': chosen on the training images before the first step (calibrateLogitScale).
   */
  logitScale?: number | 'calibrated';
  flip?: boolean; // horizontal-flip augmentation, default true
  schedule?: WarmupCosineSchedule; // default PAPER_SCHEDULE, indexed by the 0-based step
  seed?: number;
  /** Accuracy of the current meta-LoRA on the validation split (never meta-test). */
  validate?: (adapter: Adapter) => number | Promise<number>;
  validateEvery?: number; // steps; default 50; the last step is always validated
  /**
   * Early stop: training ends once this many validations in a row have not beaten the best one
   * (the best meta-LoRA is kept, as always). Default: none, every step runs. Not part of the
   * checkpoint's identity: it changes where a run ends, never its steps.
   */
  patience?: number;
  checkpointPath?: string;
  checkpointEvery?: number; // steps; default 50
  /**
   * Continue from checkpointPath when it exists (default true). The checkpoint must belong to this
   * run, the same surrogate sets (images, targets, kept patches, teachers: hashed) and settings,
   * else a CompatibilityError; false starts afresh and overwrites it.
   */
  resume?: boolean;
  run?: string; // run id in events, default 'meta-train'
}

export interface MetaTrainResult {
  steps: number; // steps done in total (including those before a resume); below options.steps after an early stop
  logitScale: number; // s of the training losses (the calibrated value when asked for)
  history: MetaTrainStep[]; // every step of the run, including those before a resume (kept in the checkpoint)
  validation: MetaValidation[]; // every validation of the run
  best: { step: number; accuracy: number } | null; // the meta-LoRA left in the adapter when validation ran
  trainSeconds: number; // this call's time in training steps only (no validation, no checkpoints)
  episodesPerSecond: number; // this call's steps / trainSeconds
}

function validateOptions(options: MetaTrainOptions, sets: readonly SurrogateSet[]): void {
  if (!Number.isInteger(options.steps) || options.steps < 0)
    throw new ConfigError(`metaTrain: steps must be a non-negative integer, found ${options.steps}`);
  if (sets.length === 0) throw new ConfigError('metaTrain: expected at least one surrogate set, found none');
  const fraction = options.interpolatedFraction ?? 0.5;
  if (!(fraction >= 0 && fraction <= 1)) throw new ConfigError(`metaTrain: interpolatedFraction must be in [0, 1], found ${fraction}`);
  const scale = options.logitScale ?? 1;
  if (scale !== 'calibrated' && !(typeof scale === 'number' && scale > 0 && Number.isFinite(scale))) {
    throw new ConfigError(`metaTrain: logitScale must be a positive number or 'calibrated', found ${String(scale)}`);
  }
  for (const key of ['validateEvery', 'checkpointEvery', 'patience'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1))
      throw new ConfigError(`metaTrain: ${key} must be a positive integer, found ${value}`);
  }
}

const readVariables = (variables: tf.Variable[]): Float32Array[] => variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));

function writeVariables(variables: tf.Variable[], values: Float32Array[], what: string): void {
  if (values.length !== variables.length || values.some((v, i) => v.length !== variables[i].size)) {
    throw new CompatibilityError(
      `${what}: holds ${values.length} tensors of sizes [${values.map((v) => v.length)}], the meta-LoRA has [${variables.map((v) => v.size)}]`,
    );
  }
  variables.forEach((variable, i) => tf.tidy(() => variable.assign(tf.tensor(values[i], variable.shape))));
}

/** The refusal to resume `file`, naming what differs: the surrogate sets (content, teachers) and/or which settings. */
function staleCheckpoint(file: string, saved: string, current: string): CompatibilityError {
  let differs: string[];
  try {
    const before = JSON.parse(saved) as Record<string, unknown>;
    const now = JSON.parse(current) as Record<string, unknown>;
    differs = [...new Set([...Object.keys(before), ...Object.keys(now)])].filter(
      (key) => JSON.stringify(before[key]) !== JSON.stringify(now[key]),
    );
  } catch {
    differs = [];
  }
  const sets = differs.includes('surrogates') || differs.includes('sets');
  const settings = differs.filter((key) => key !== 'surrogates' && key !== 'sets');
  const what =
    [
      ...(sets ? ['other surrogate sets (their images, targets, kept patches or teachers differ)'] : []),
      ...(settings.length > 0 ? [`other meta-training settings (${settings.join(', ')})`] : []),
    ].join(' and ') || 'another run';
  return new CompatibilityError(
    `${file}: this meta-training checkpoint belongs to ${what}, so it cannot be resumed; to start fresh, delete ${file} ` +
      `or pass resume: false (lora-recycle meta-train --no-resume). Checkpoint: ${saved}; this run: ${current}`,
  );
}

/**
 * Meta-trains `metaAdapter` (a fresh meta-LoRA; only it trains) on the student `model` with
 * surrogate episodes (method.md §1.5): single-LoRA episodes distil the set's teacher with KL on
 * the query; cross-task interpolated episodes use cross-entropy. Adam with the warm-restart
 * schedule; validation selects the best meta-LoRA; checkpoints allow an identical resume; the
 * AbortSignal stops before the next step after saving a checkpoint (runSteps: CancelledError).
 */
export async function metaTrain(
  model: FeatureModel,
  metaAdapter: Adapter,
  sets: readonly SurrogateSet[],
  options: MetaTrainOptions,
): Promise<MetaTrainResult> {
  validateOptions(options, sets);
  const shape = options.episode;
  const run = options.run ?? 'meta-train';
  const fraction = options.interpolatedFraction ?? 0.5;
  const distance = options.distance ?? 'euclidean';
  const checkpointPath = options.checkpointPath ?? null;
  const saved = checkpointPath && (options.resume ?? true) && fs.existsSync(checkpointPath) ? loadMetaCheckpoint(checkpointPath) : null;
  // calibrated once, on the fresh meta-LoRA before the first step; a resume keeps the checkpoint's s
  const logitScale =
    options.logitScale !== 'calibrated'
      ? (options.logitScale ?? 1)
      : saved
        ? saved.logitScale
        : calibrateLogitScale(model, metaAdapter, sets, shape, options.patchGrid, distance, (options.seed ?? 0) + 1);
  const flip = options.flip ?? true;
  const schedule = options.schedule ?? PAPER_SCHEDULE;
  const validateEvery = options.validateEvery ?? 50;
  const checkpointEvery = options.checkpointEvery ?? 50;
  const byClass = sets.map((set, i) => imagesByClass(set, i, shape));
  const imageIds = sets.map((set) => set.imageIds);
  const variables = metaAdapter.trainableVariables();
  if (variables.length === 0) throw new ConfigError('metaTrain: the meta-adapter has no trainable variables');
  // the run's identity in its checkpoint: settings and the content of the surrogate sets with their
  // teachers (hashed once here, only when there is a checkpoint), so another zoo or inversion resumes nothing
  const fingerprint =
    checkpointPath === null
      ? ''
      : JSON.stringify({
          shape,
          sets: sets.length,
          surrogates: surrogateSetsDigest(model, sets),
          fraction,
          distance,
          flip,
          schedule,
          seed: options.seed ?? 0,
          sizes: variables.map((v) => v.size),
          ...(options.logitScale === undefined || options.logitScale === 1 ? {} : { logitScale: options.logitScale }),
        });
  if (saved && saved.fingerprint !== fingerprint) throw staleCheckpoint(checkpointPath!, saved.fingerprint, fingerprint);

  let rng = new SeededRandom(options.seed ?? 0);
  const adam = new Adam(variables);
  let step = 0;
  let best: BestSoFar | null = null;
  const history: MetaTrainStep[] = [];
  const validation: MetaValidation[] = [];
  const layout = metaLoraLayout(metaAdapter, variables);
  const emit = options.onEvent ?? (() => undefined);
  const checkpoint = (): string | null => {
    if (!options.checkpointPath) return null;
    saveMetaCheckpoint(options.checkpointPath, {
      step,
      rngState: rng.state,
      last: readVariables(variables),
      adam: adam.moments(),
      best,
      history,
      validation,
      lora: layout,
      logitScale,
      fingerprint,
    });
    return options.checkpointPath;
  };

  if (saved) {
    writeVariables(variables, saved.last, checkpointPath!);
    adam.restore(saved.adam);
    rng = new SeededRandom(saved.rngState);
    step = saved.step;
    best = saved.best;
    history.push(...saved.history);
    validation.push(...saved.validation);
    emit({ kind: 'phase', run, phase: 'resumed', message: `from step ${step} of ${options.checkpointPath}` });
  }

  const firstStep = step;
  const result: MetaTrainResult = { steps: step, history, validation, best: null, trainSeconds: 0, episodesPerSecond: 0, logitScale };
  const patience = options.patience;
  // validations since the best one; `best` is the first best, so a tie does not reset the count
  const finishedEarly = () => patience !== undefined && best !== null && validation.filter((v) => v.step > best!.step).length >= patience;
  try {
    await runSteps(
      {
        run,
        total: options.steps,
        done: step,
        checkpoint,
        checkpointEvery,
        finishedEarly,
        onEvent: options.onEvent,
        signal: options.signal,
      },
      async () => {
        const started = performance.now();
        const episode =
          rng.next() < fraction
            ? interpolatedEpisode(byClass, shape, (n, count) => rng.sample(n, count), imageIds)
            : singleLoraEpisode(byClass, rng.int(sets.length), shape, (n, count) => rng.sample(n, count));
        const refs = [...episode.support, ...episode.query];
        const flips = refs.map(() => flip && rng.next() < 0.5);
        const lr = warmupCosineRate(step, schedule);
        const { loss, accuracy } = trainStep(
          model,
          metaAdapter,
          adam,
          sets,
          episode,
          episodeImages(sets, refs, flips, options.patchGrid),
          lr,
          distance,
          logitScale,
        );
        result.trainSeconds += (performance.now() - started) / 1000;
        step += 1;
        const metrics: Record<string, number> = { loss, lr, accuracy };
        history.push({ step, kind: episode.kind, loss, lr, accuracy });
        if (options.validate && (step % validateEvery === 0 || step === options.steps)) {
          const validationAccuracy = await options.validate(metaAdapter);
          metrics.val_accuracy = validationAccuracy;
          validation.push({ step, accuracy: validationAccuracy });
          if (!best || validationAccuracy > best.accuracy)
            best = { step, accuracy: validationAccuracy, variables: readVariables(variables) };
        }
        return metrics;
      },
    );
  } finally {
    adam.dispose();
  }
  if (best) {
    writeVariables(variables, best.variables, 'best meta-LoRA');
    result.best = { step: best.step, accuracy: best.accuracy };
  }
  result.steps = step;
  result.episodesPerSecond = (step - firstStep) / Math.max(result.trainSeconds, 1e-9);
  return result;
}

/** One Adam step on one episode; returns the loss and the student's query accuracy. */
function trainStep(
  model: FeatureModel,
  metaAdapter: Adapter,
  adam: Adam,
  sets: readonly SurrogateSet[],
  episode: SurrogateEpisode,
  batch: { images: tf.Tensor4D; positions: tf.Tensor2D | null },
  lr: number,
  distance: PrototypeDistance,
  logitScale: number,
): { loss: number; accuracy: number } {
  const supportCount = episode.support.length;
  const queryCount = episode.query.length;
  let predictions: tf.Tensor1D | null = null;
  const lossValue = tf.tidy(() => {
    const { images, positions } = batch;
    const slicePositions = (start: number, size: number) => (positions ? tf.slice(positions, [start, 0], [size, -1]) : undefined);
    // teacher = backbone + that LoRA + its head: a separate model, no gradient (logits are constants)
    const teacherLogits =
      episode.teacherSet === null
        ? null
        : (() => {
            const teacher = sets[episode.teacherSet].teacher;
            const query = tf.slice(images, [supportCount, 0, 0, 0], [queryCount, -1, -1, -1]);
            return teacher.head.apply(
              model.forward(query, { adapter: teacher.adapter, patchPositions: slicePositions(supportCount, queryCount) }).features,
            );
          })();
    const queryLabels = tf.tensor1d(episode.queryLabels, 'int32');
    const { value, grads } = tf.variableGrads(() => {
      const features = model.forward(images, { adapter: metaAdapter, patchPositions: positions ?? undefined }).features; // [N·K + N·Q, D]
      const protos = prototypes(tf.slice(features, [0, 0], [supportCount, -1]), episode.supportLabels, episode.ways); // [N, D]
      const negativeDistances = prototypeLogits(tf.slice(features, [supportCount, 0], [queryCount, -1]), protos, distance); // [N·Q, N], −d
      const logits = logitScale === 1 ? negativeDistances : (tf.mul(negativeDistances, logitScale) as tf.Tensor2D);
      predictions = tf.keep(tf.argMax(logits, 1) as tf.Tensor1D);
      const taskLoss = teacherLogits ? distillationLoss(teacherLogits, logits) : episodeCrossEntropy(logits, queryLabels);
      const regularizer = metaAdapter.regularizer();
      return (regularizer ? tf.add(taskLoss, regularizer) : taskLoss) as tf.Scalar;
    }, metaAdapter.trainableVariables());
    adam.apply(
      metaAdapter.trainableVariables().map((v) => grads[v.name]),
      lr,
    );
    return value.dataSync()[0];
  });
  batch.images.dispose();
  batch.positions?.dispose();
  const predicted = (predictions as tf.Tensor1D | null)?.dataSync() ?? new Int32Array();
  (predictions as tf.Tensor1D | null)?.dispose();
  const correct = episode.queryLabels.filter((label, i) => predicted[i] === label).length;
  return { loss: lossValue, accuracy: correct / queryCount };
}
