import type * as tf from '@tensorflow/tfjs';
import type { EpisodeSource } from '../data/episodes';
import type { FeatureFn } from '../evaluation';
import type { SurrogateSet } from '../meta/surrogate';
import type { RunControl } from '../progress/events';
import type { VisionTransformer } from '../model/vision-transformer';
import type { Zoo, ZooEntry } from '../zoo';
import type { RunConfig } from './config';

/** What one inversion gives the pipeline; it owns its tensors and its teacher's adapter (disposeInverted). */
export interface InvertedLora {
  set: SurrogateSet; // normalised (masked where pruned) images + teacher
  pixels: tf.Tensor4D; // [B, H, W, C] in [0, 1], for PNGs
  masks: tf.Tensor4D | null; // [B, H, W, 1] 1 = surviving patch
  teacherConfidence: number[]; // teacher softmax on each image's target
  iterationsPerSecond: number;
}

/**
 * A fixed episode list. `withFeatures` (when the images are known, not only their tensors) gives
 * the same episodes with each distinct image replaced by its feature under a fixed feature
 * function, computed once ([n, 1, 1, D] maps for flattenImages): exact for tuning-free methods, at
 * a fraction of the forward passes.
 */
export interface PipelineEpisodes extends EpisodeSource {
  withFeatures?(featureFn: FeatureFn): Promise<EpisodeSource>;
}

/**
 * What the reproduction needs from the other areas (zoo, inversion, data, backbone). The real
 * implementations are wired in wiring.ts; tests may substitute small fakes.
 */
export interface PipelinePorts {
  loadBackbone(config: RunConfig): Promise<VisionTransformer>;
  /** Builds the zoo into `dir`, or loads it when `dir` already holds one. */
  zoo(backbone: VisionTransformer, config: RunConfig, dir: string, control: RunControl): Promise<Zoo>;
  invert(backbone: VisionTransformer, entry: ZooEntry, config: RunConfig, pruning: Record<number, number>, control: RunControl): Promise<InvertedLora>;
  /**
   * The oracle's counterpart of an inversion: real images of the LoRA's own classes (the data the
   * zoo was tuned on), as many per class as an inversion makes (shots + queries), same teacher.
   */
  realImages(backbone: VisionTransformer, entry: ZooEntry, config: RunConfig): Promise<InvertedLora>;
  /** Fixed, seeded episodes of set `set` ('emoji-validation', 'emoji-novel', 'glyphs', 'mnist', ...); null if its data is absent. */
  episodes(set: string, shape: { ways: number; shots: number; queries: number }, count: number, seed: number): Promise<PipelineEpisodes | null>;
  /** Frees what the ports hold between calls (e.g. the image prior). */
  dispose(): void;
}
