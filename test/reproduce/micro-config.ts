import type { ViTConfig } from '../../src/model';
import type { RunConfig } from '../../src/reproduce/config';
import { ZOO_TEST_VIT } from '../model/tiny-config';

/**
 * The micro run configuration the end-to-end tests write to a file and hand to the pipeline or
 * the CLI: a random 2-block ViT at 32 px (patch 8), the real emoji data, two LoRAs, two steps of
 * everything. Budgets are tiny: it checks that things run, not what accuracy they reach. A test
 * that needs more or less states it as overrides, section by section.
 */
const MICRO_VIT: ViTConfig = {
  imageSize: 32,
  patchSize: 8,
  channels: 3,
  width: 32,
  depth: 2,
  heads: 2,
  mlpWidth: 64,
  projectionDim: 32,
  layerNormEps: 1e-5,
};

type Sections = Omit<RunConfig, 'name' | 'backbone'>;

/** Fields to change: `vit` in the random backbone's ViTConfig, the others in the section of that name. */
export type MicroOverrides = { vit?: Partial<ViTConfig> } & { [K in keyof Sections]?: Partial<Sections[K]> };

/** The micro configuration with `overrides` merged into its sections (fields keep their order). */
export function microConfig(overrides: MicroOverrides = {}): RunConfig {
  return {
    name: 'micro',
    backbone: { source: 'random', config: { ...MICRO_VIT, ...overrides.vit }, seed: 1 },
    data: { imageSize: 32, ...overrides.data },
    zoo: { size: 2, ways: 5, shots: 2, steps: 2, learningRate: 0.01, rank: 2, ...overrides.zoo },
    inversion: {
      steps: 2,
      shots: 1,
      queries: 2,
      learningRate: 0.25,
      priorWeight: 0.01,
      pruning: {},
      pruneStartFraction: 0.25,
      ...overrides.inversion,
    },
    metaTraining: {
      steps: 2,
      shots: 1,
      queries: 2,
      interpolatedFraction: 0.5,
      distance: 'euclidean',
      validateEvery: 2,
      checkpointEvery: 2,
      validationEpisodes: 1,
      flip: true,
      ...overrides.metaTraining,
    },
    evaluation: { episodes: 2, ways: 5, shots: [1], queries: 2, sets: ['emoji-novel'], seed: 5, ...overrides.evaluation },
    baselines: {
      methods: ['nn', 'lora-recycle', 'linear-probe'],
      episodes: 1,
      tuningSteps: 1,
      learningRate: 0.001,
      fullTuningSteps: 1,
      fullLearningRate: 0.0001,
      ...overrides.baselines,
    },
  };
}

/**
 * Only the fields of a run configuration that inverting a zoo reads (invertZooEntries): the zoo
 * fixture's backbone (test/zoo/fixtures.ts), three inversion steps without the prior, seed 5.
 */
export const INVERT_ZOO_CONFIG = {
  backbone: { source: 'random', config: ZOO_TEST_VIT, seed: 3 },
  inversion: { steps: 3, shots: 1, queries: 1, learningRate: 0.25, priorWeight: 0, pruning: {}, pruneStartFraction: 0.25 },
  evaluation: { seed: 5 },
} as unknown as RunConfig;
