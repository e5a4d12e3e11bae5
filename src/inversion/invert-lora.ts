import * as tf from '@tensorflow/tfjs';
import { MIME } from '../display/mime-types';
import { ConfigError } from '../errors';
import { Adam } from '../optim/adam';
import type { Teacher } from '../surrogate/set';
import type { PruningSchedule } from '../model/token-pruning';
import type { VisionTransformer } from '../model/vision-transformer';
import type { ImagePrior } from '../prior/image-prior';
import { runSteps } from '../progress/run-steps';
import { SeededRandom } from '../random/seeded-random';
import { latentCanvas, pixelCanvas, strokeCanvas, type Canvas } from './canvas';
import { inversionGalleryBundle } from './gallery';
import { applyJitters, drawJitter, type Jitter } from './jitter';
import { patchMasks } from './masks';
import { inversionObjective, type ObjectiveWeights } from './objective';
import {
  inversionTargets,
  pruningStartIteration,
  resolveInversionOptions,
  type InversionOptions,
  type ResolvedInversionOptions,
} from './options';
import { InversionResult, type InversionStep } from './result';
import { pixelsOf, takeSnapshot, type InversionSnapshot } from './snapshot';
import { teacherView } from './teacher-pass';

function checkTeacherHead(backbone: VisionTransformer, teacher: Teacher, ways: number): void {
  const classes = tf.tidy(() => teacher.head.apply(tf.zeros([1, backbone.config.projectionDim])).shape[1]);
  if (classes !== ways) throw new ConfigError(`invertLora: ways is ${ways} but the teacher's head has ${classes} classes`);
}

/** One Adam step on the canvas, then its projection; returns the iteration's loss terms. */
function iterate(
  backbone: VisionTransformer,
  teacher: Teacher,
  prior: ImagePrior | null,
  canvas: Canvas,
  targets: tf.Tensor1D,
  jitters: readonly Jitter[],
  weights: ObjectiveWeights,
  pruning: PruningSchedule,
  adam: Adam,
  learningRate: number,
): Omit<InversionStep, 'step'> {
  const read: { names: string[]; values?: tf.Tensor1D; patchTokens: number } = { names: [], patchTokens: 0 };
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const t = inversionObjective(backbone, teacher, prior, applyJitters(canvas.render(), jitters), targets, weights, pruning);
      const computed = Object.entries({
        loss: t.total,
        crossEntropy: t.crossEntropy,
        prior: t.prior,
        tv: t.tv,
        l2: t.l2,
        diversity: t.diversity,
        unadapted: t.unadapted,
        ink: t.ink,
        confidence: t.confidence,
      }).filter((entry): entry is [string, tf.Scalar] => entry[1] !== null);
      read.names = computed.map(([name]) => name);
      read.values = tf.keep(tf.stack(computed.map(([, value]) => value)) as tf.Tensor1D); // survives the gradient scope
      read.patchTokens = t.patchTokens;
      return t.total;
    }, canvas.variables);
    adam.apply(
      canvas.variables.map((v) => grads[v.name]),
      learningRate,
    );
  });
  canvas.project();
  const values = read.values as tf.Tensor1D;
  const terms = Object.fromEntries(Array.from(values.dataSync(), (v, i) => [read.names[i], v]));
  values.dispose();
  return {
    loss: terms.loss,
    crossEntropy: terms.crossEntropy,
    prior: terms.prior ?? null,
    tv: terms.tv ?? null,
    l2: terms.l2 ?? null,
    diversity: terms.diversity ?? null,
    unadapted: terms.unadapted ?? null,
    ink: terms.ink ?? null,
    confidence: terms.confidence,
    patchTokens: read.patchTokens,
  };
}

/**
 * LoRA inversion (method.md §1.3–1.4): optimises a batch of N·(K+Q) images, K+Q per class,
 * so that backbone + the teacher's LoRA + its head classify them as their targets, under the
 * BatchNorm-statistics prior of `prior` (null: no prior) and optional TV / L2 priors. Adam on
 * the normalised pixels (init N(0, 1); with parameterSide below the image side, on a coarser grid
 * upsampled bilinearly each step; with `strokes`, on the strokes of line drawings instead:
 * canvas.ts; with `generator`, on the latent codes of its decoder), a random roll and flip of the whole batch per step (with jitterCopies J > 1, J copies
 * each jittered its own way, the loss over all of them), a clamp to valid pixels (or
 * the strokes' ranges) after each step; from ⌊pruneFrom · steps⌋ on the teacher's forward is
 * token-pruned by `options.pruning`. The AbortSignal stops before the next step with
 * CancelledError (runSteps; nothing is kept). Deterministic given `seed`.
 */
export async function invertLora(
  backbone: VisionTransformer,
  teacher: Teacher,
  prior: ImagePrior | null,
  options: InversionOptions,
): Promise<InversionResult> {
  const o = resolveInversionOptions(options, backbone.config, prior);
  checkTeacherHead(backbone, teacher, o.ways);
  const { imageSize, channels } = backbone.config;
  const targets = inversionTargets(o.ways, o.shots + o.queries);
  const pruneStart = pruningStartIteration(o);
  const emit = o.onEvent ?? (() => undefined);
  const random = new SeededRandom(o.seed);
  const canvas = o.generator
    ? latentCanvas(o.generator, targets.length, channels, o.seed)
    : o.strokes > 0
      ? strokeCanvas(targets.length, imageSize, channels, o.strokes, o.seed, { maxWidth: o.maxStrokeWidth, segments: o.strokeSegments })
      : pixelCanvas(targets.length, imageSize, channels, o.parameterSide, o.seed);
  const targetTensor = tf.tensor1d(Array.from({ length: o.jitterCopies }, () => targets).flat(), 'int32'); // the targets of every jittered copy
  const adam = new Adam(canvas.variables, { beta1: o.betas[0], beta2: o.betas[1] });
  const weights: ObjectiveWeights = {
    prior: o.priorWeight,
    tv: o.tvWeight,
    l2: o.l2Weight,
    diversity: o.diversityWeight,
    unadapted: o.unadaptedWeight,
    ink: o.inkWeight,
  };
  const history: InversionStep[] = [];
  const snapshots: InversionSnapshot[] = [];
  let seconds = 0;
  try {
    await runSteps({ run: o.run, total: o.steps, onEvent: o.onEvent, signal: o.signal }, (step) => {
      const iteration = step - 1;
      const pruningOn = pruneStart !== null && iteration >= pruneStart;
      if (pruningOn && iteration === pruneStart) {
        emit({ kind: 'phase', run: o.run, phase: 'pruning', message: `pruning ${JSON.stringify(o.pruning)} from step ${step}` });
      }
      const jitters = Array.from({ length: o.jitterCopies }, () => drawJitter(random, imageSize, o.maxShift, o.flip, o.minCropScale));
      const started = performance.now();
      const terms = iterate(
        backbone,
        teacher,
        prior,
        canvas,
        targetTensor,
        jitters,
        weights,
        pruningOn ? o.pruning : {},
        adam,
        o.learningRate,
      );
      seconds += (performance.now() - started) / 1000;
      history.push({ step, ...terms });
      if (o.snapshotEvery !== null && step % o.snapshotEvery === 0) {
        snapshots.push(snapshotAt(step, backbone, teacher, canvas, pruningOn ? o.pruning : {}, o));
        emit({
          kind: 'snapshot',
          run: o.run,
          step,
          payload: snapshotPayload(snapshots[snapshots.length - 1], targets, channels, backbone, o),
        });
      }
      return Object.fromEntries(Object.entries(terms).filter((entry): entry is [string, number] => entry[1] !== null));
    });
    return finish(
      backbone,
      teacher,
      tf.tidy(() => {
        canvas.project(); // the start itself when no step ran
        return canvas.render().clone();
      }),
      targets,
      o,
      { history, snapshots, seconds },
    );
  } finally {
    adam.dispose();
    canvas.dispose();
    targetTensor.dispose();
  }
}

function snapshotAt(
  step: number,
  backbone: VisionTransformer,
  teacher: Teacher,
  canvas: Canvas,
  pruning: PruningSchedule,
  o: ResolvedInversionOptions,
): InversionSnapshot {
  const images = tf.tidy(() => canvas.render().clone());
  try {
    const kept = Object.keys(pruning).length > 0 ? teacherView(backbone, teacher, images, pruning).keptPatches : null;
    return takeSnapshot(step, images, o.snapshotSide, kept);
  } finally {
    images.dispose();
  }
}

function snapshotPayload(
  snapshot: InversionSnapshot,
  targets: number[],
  channels: number,
  backbone: VisionTransformer,
  o: ResolvedInversionOptions,
): unknown {
  const bundle = inversionGalleryBundle({
    title: `Inversion at step ${snapshot.step} of ${o.steps}`,
    classNames: o.classNames,
    targets,
    channels,
    patchGrid: backbone.config.imageSize / backbone.config.patchSize,
    frames: [snapshot],
  });
  return bundle[MIME.gallery];
}

/** The mask pass and the result: takes ownership of `images` (normalised, clamped). */
function finish(
  backbone: VisionTransformer,
  teacher: Teacher,
  images: tf.Tensor4D,
  targets: number[],
  o: ResolvedInversionOptions,
  run: { history: InversionStep[]; snapshots: InversionSnapshot[]; seconds: number },
): InversionResult {
  const { imageSize, patchSize } = backbone.config;
  const view = teacherView(backbone, teacher, images, o.pruning);
  const pixels = pixelsOf(images);
  const masks = view.keptPatches
    ? patchMasks(view.keptPatches, imageSize, patchSize)
    : (tf.ones([targets.length, imageSize, imageSize, 1]) as tf.Tensor4D);
  const maskedPixels = tf.mul(pixels, masks) as tf.Tensor4D;
  const argMax = (p: number[]) => p.indexOf(Math.max(...p));
  return new InversionResult({
    pixels,
    images,
    masks,
    maskedPixels,
    targets,
    keptPatches: view.keptPatches,
    targetConfidence: view.probabilities.map((p, i) => p[targets[i]]),
    maxConfidence: view.probabilities.map((p) => Math.max(...p)),
    teacherPredictions: view.probabilities.map(argMax),
    history: run.history,
    snapshots: run.snapshots,
    steps: run.history.length,
    totalSteps: o.steps,
    iterationsPerSecond: run.seconds > 0 ? run.history.length / run.seconds : 0,
    seed: o.seed,
    teacher,
    classNames: o.classNames,
    patchSize,
    snapshotSide: o.snapshotSide,
  });
}
