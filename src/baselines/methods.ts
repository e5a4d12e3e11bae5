import * as tf from '@tensorflow/tfjs';
import type { Adapter } from '../model/adapter-hook';
import type { LoraParameters } from '../adapters/lora-parameters';
import { CLoRA, LearnedComposition, LoRA, UniformComposition } from '../adapters';
import { ConfigError } from '../errors';
import type { EpisodeTensors } from '../data/episodes';
import { episodeAccuracy, featuresInBatches, flattenImages, labelsAsArray, type PrototypeDistance } from '../evaluation';
import { LinearHead } from '../model/head';
import { VisionTransformer } from '../model/vision-transformer';
import { treeTensors, variablesOf } from '../model/tensor-tree';
import { fitOnSupport, type SupportTuning } from '../training/fit-on-support';

/** What the methods compare: the frozen backbone, the LoRA zoo, and LoRA Recycle's meta-LoRA. */
export interface MethodContext {
  backbone: VisionTransformer;
  zoo: readonly LoraParameters[]; // pre-tuned LoRAs (compositions)
  metaLora?: Adapter | null; // LoRA Recycle
}

export interface MethodOptions {
  distance?: PrototypeDistance; // prototype methods, default 'euclidean'
  tuning?: SupportTuning; // adapter + head fine-tuning on the support set; default 30 steps at 1e-3
  fullTuning?: SupportTuning; // full fine-tuning; default 30 steps at 1e-4
  rank?: number; // LoRA / CLoRA rank, default 4
  cloraPairs?: number; // CLoRA shared pairs p, default 2
  sadeWeight?: number; // λ of CLoRA's SADE, default 1e-3
  seed?: number;
}

/** Accuracy of one method on one episode. */
export type EpisodeMethod = (context: MethodContext, episode: EpisodeTensors, options: MethodOptions) => number;

const DEFAULT_TUNING: SupportTuning = { steps: 30, learningRate: 1e-3 };
const DEFAULT_FULL_TUNING: SupportTuning = { steps: 30, learningRate: 1e-4 };

/** Tuning-free prototype classification with `adapter` on the backbone (null = frozen backbone). */
function prototypeMethod(adapterOf: (context: MethodContext) => Adapter | null, owned: boolean): EpisodeMethod {
  return (context, episode, options) => {
    const adapter = adapterOf(context);
    try {
      return episodeAccuracy((x) => context.backbone.forward(x, { adapter }).features, episode, { distance: options.distance });
    } finally {
      if (owned) adapter?.dispose();
    }
  };
}

/** Fraction of queries whose head logit is largest for their own class. */
function headAccuracy(logits: tf.Tensor2D, queryLabels: readonly number[]): number {
  const argMax = tf.argMax(logits, 1);
  const predicted = argMax.dataSync();
  argMax.dispose();
  return queryLabels.filter((label, i) => predicted[i] === label).length / queryLabels.length;
}

/**
 * An adapter (or none) and a fresh linear head trained together on the support set, then the
 * head classifies the queries. `adapterOf` builds a new adapter per episode; it is disposed after.
 */
function supportTunedMethod(adapterOf: ((context: MethodContext, options: MethodOptions) => Adapter) | null): EpisodeMethod {
  return (context, episode, options) => {
    const supportLabels = labelsAsArray(episode.supportLabels);
    const ways = Math.max(...supportLabels) + 1;
    const { backbone } = context;
    const adapter = adapterOf?.(context, options) ?? null;
    const head = LinearHead.create(backbone.config.projectionDim, ways, options.seed ?? 0);
    try {
      const logitsOf = (x: tf.Tensor4D) => head.apply(backbone.forward(x, { adapter }).features);
      fitOnSupport(
        [...(adapter?.trainableVariables() ?? []), ...head.trainableVariables()],
        logitsOf,
        episode.support,
        supportLabels,
        options.tuning ?? DEFAULT_TUNING,
        adapter ? () => adapter.regularizer() : undefined,
      );
      const logits = tf.tidy(() => head.apply(featuresInBatches((x) => backbone.forward(x, { adapter }).features, episode.query)));
      try {
        return headAccuracy(logits, labelsAsArray(episode.queryLabels));
      } finally {
        logits.dispose();
      }
    } finally {
      adapter?.dispose();
      head.dispose();
    }
  };
}

/** Linear probe: frozen features computed once, only a linear head trains on them. */
const linearProbe: EpisodeMethod = (context, episode, options) => {
  const supportLabels = labelsAsArray(episode.supportLabels);
  const ways = Math.max(...supportLabels) + 1;
  const features = (x: tf.Tensor4D) => featuresInBatches((b) => context.backbone.forward(b).features, x);
  const supportFeatures = features(episode.support);
  const queryFeatures = features(episode.query);
  const head = LinearHead.create(context.backbone.config.projectionDim, ways, options.seed ?? 0);
  try {
    // the head sees features, so they travel through fitOnSupport as a [N·K, D, 1, 1] "image"
    const asImages = tf.reshape(supportFeatures, [...supportFeatures.shape, 1, 1]) as tf.Tensor4D;
    fitOnSupport(head.trainableVariables(), (x) => head.apply(flattenImages(x)), asImages, supportLabels, options.tuning ?? DEFAULT_TUNING);
    asImages.dispose();
    const logits = tf.tidy(() => head.apply(queryFeatures));
    try {
      return headAccuracy(logits, labelsAsArray(episode.queryLabels));
    } finally {
      logits.dispose();
    }
  } finally {
    [supportFeatures, queryFeatures].forEach((t) => t.dispose());
    head.dispose();
  }
};

/** Full fine-tuning: a trainable copy of every backbone weight plus a head, trained on the support set. */
const fullFineTuning: EpisodeMethod = (context, episode, options) => {
  const supportLabels = labelsAsArray(episode.supportLabels);
  const ways = Math.max(...supportLabels) + 1;
  const tuned = new VisionTransformer(context.backbone.config, variablesOf(context.backbone.weights));
  const head = LinearHead.create(tuned.config.projectionDim, ways, options.seed ?? 0);
  try {
    const variables = treeTensors(tuned.weights) as tf.Variable[];
    const logitsOf = (x: tf.Tensor4D) => head.apply(tuned.forward(x).features);
    fitOnSupport(
      [...variables, ...head.trainableVariables()],
      logitsOf,
      episode.support,
      supportLabels,
      options.fullTuning ?? DEFAULT_FULL_TUNING,
    );
    const logits = tf.tidy(() => head.apply(featuresInBatches((x) => tuned.forward(x).features, episode.query)));
    try {
      return headAccuracy(logits, labelsAsArray(episode.queryLabels));
    } finally {
      logits.dispose();
    }
  } finally {
    tuned.dispose();
    head.dispose();
  }
};

function requireZoo(context: MethodContext, method: string): readonly LoraParameters[] {
  if (context.zoo.length === 0) throw new ConfigError(`${method} needs a LoRA zoo, found none`);
  return context.zoo;
}

/** Every method, by the name used in reports and on the command line. */
export const METHODS = {
  nn: prototypeMethod(() => null, false),
  'uniform-nn': prototypeMethod((c) => UniformComposition.create([...requireZoo(c, 'uniform-nn')]), true),
  'lora-recycle': prototypeMethod((c) => {
    if (!c.metaLora) throw new ConfigError('lora-recycle needs a meta-LoRA (run meta-train first), found none');
    return c.metaLora;
  }, false),
  'linear-probe': linearProbe,
  'lora-linear': supportTunedMethod((c, o) =>
    LoRA.create(c.backbone.config, { rank: o.rank ?? 4, targets: ['q', 'v'], seed: o.seed ?? 0 }),
  ),
  'learned-composition': supportTunedMethod((c) => LearnedComposition.create([...requireZoo(c, 'learned-composition')])),
  clora: supportTunedMethod((c, o) =>
    CLoRA.create(c.backbone.config, {
      rank: o.rank ?? 4,
      pairs: o.cloraPairs ?? 2,
      targets: ['q', 'v'],
      seed: o.seed ?? 0,
      sadeWeight: o.sadeWeight ?? 1e-3,
    }),
  ),
  'full-finetune': fullFineTuning,
} satisfies Record<string, EpisodeMethod>;

export type MethodName = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];
/** Methods that classify in one forward pass, without any training on the support set. */
export const TUNING_FREE_METHODS: readonly MethodName[] = ['nn', 'uniform-nn', 'lora-recycle'];
