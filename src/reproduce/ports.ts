import type { DatasetSpec } from '../data/dataset-spec';
import type { EpisodeList, EpisodeSource } from '../data/episodes';
import type { FeatureFn } from '../evaluation';
import type { JobRunner } from '../parallel/job-runner';
import type { RecordedSurrogateSet } from '../surrogate/set';
import type { RunControl } from '../progress/events';
import type { VisionTransformer } from '../model/vision-transformer';
import type { Zoo, ZooEntry } from '../zoo';
import type { RunConfig } from './config';

/**
 * A fixed episode list. `withFeatures` (when the images are known, not only their tensors) gives
 * the same episodes with each distinct image replaced by its feature under a fixed feature
 * function, computed once ([n, 1, 1, D] maps for flattenImages): exact for tuning-free methods, at
 * a fraction of the forward passes. `key` (optional) stands for featureFn across calls: the same
 * key must mean the same function on the same backbone. Features already computed under it on
 * the same data set, for an earlier list, are reused; only the images new to it are computed.
 */
export interface PipelineEpisodes extends EpisodeSource {
  withFeatures?(featureFn: FeatureFn, key?: object): Promise<EpisodeSource>;
  /** The data set and episode list behind the source, as plain data (jobs on other processes load them). */
  origin?: { dataset: DatasetSpec; list: EpisodeList };
}

/**
 * What the reproduction needs from the other areas (zoo, inversion, data, backbone). The real
 * implementations are wired in wiring.ts; tests may substitute small fakes.
 */
export interface PipelinePorts {
  loadBackbone(config: RunConfig): Promise<VisionTransformer>;
  /** Builds the zoo into `dir`, or loads it when `dir` already holds one. */
  zoo(backbone: VisionTransformer, config: RunConfig, dir: string, control: RunControl): Promise<Zoo>;
  /**
   * Inverts `entries` of `zoo` (saved in zoo.directory) with `pruning`, each into `<out>/<id>/`
   * (writeSurrogateSet), and returns the sets read back (the real one runs the parallel pool's
   * job code, invert-zoo.ts), in the order of `entries`; a stop throws CancelledError (the
   * finished sets stay in `out`). Each set owns its tensors and its teacher's adapter
   * (disposeSurrogateSets).
   */
  invert(
    backbone: VisionTransformer,
    zoo: Zoo,
    entries: readonly ZooEntry[],
    config: RunConfig,
    pruning: Record<number, number>,
    out: string,
    control: RunControl,
  ): Promise<RecordedSurrogateSet[]>;
  /**
   * The oracle's counterpart of an inversion: real images of the LoRA's own classes (the data the
   * zoo was tuned on), as many per class as an inversion makes (shots + queries), same teacher;
   * each image at most once (record.askedPerClass, imagesPerClass and capped say how many were taken).
   */
  realImages(backbone: VisionTransformer, entry: ZooEntry, config: RunConfig): Promise<RecordedSurrogateSet>;
  /** Fixed, seeded episodes of set `set` ('emoji-validation', 'emoji-novel', 'glyphs', 'mnist', ...); null if its data is absent. */
  episodes(
    set: string,
    shape: { ways: number; shots: number; queries: number },
    count: number,
    seed: number,
  ): Promise<PipelineEpisodes | null>;
  /**
   * Where the ports' jobs run (chosen once, e.g. from --redis); the reproduction's evaluation stage
   * runs its comparisons there too when the runner is remote (evaluation-stage.ts).
   */
  readonly runner: JobRunner;
  /** Lets go of what the ports keep between calls (e.g. loaded data sets). */
  dispose(): void;
}
