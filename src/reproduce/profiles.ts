import { ConfigError } from '../errors';
import type { RunConfig } from './config';
import { mainSets } from './main-set';

/**
 * The one comparison a profile's report is judged by, named here, before any run: LoRA Recycle
 * − NN, paired, on `set` 5-way `shots`-shot. Every other verdict of the report is exploratory.
 */
export interface PreregisteredHeadline {
  set: string;
  shots: number;
}

/**
 * The headline of every profile, fixed by the configuration before any run: LoRA Recycle − NN on
 * the main domain's novel classes (data.main; novel emoji by default), 5-way 1-shot (the paper's
 * main setting).
 */
export function headlineFor(config: RunConfig): PreregisteredHeadline {
  return { set: mainSets(config).novel, shots: 1 };
}

/** How much of the reproduction a profile runs, on top of a RunConfig. */
export interface ReproductionProfile {
  name: 'quick' | 'standard' | 'full';
  config: RunConfig;
  headline: PreregisteredHeadline;
  /** Cross-domain sets evaluated besides the main domain's novel classes (those whose data is installed). */
  crossDomainSets: string[];
  /** Pruning schedules of the Table 4/5 analogue for a backbone of `depth` blocks. */
  pruningRows(depth: number): { label: string; pruning: Record<string, number> }[];
  /** LoRAs inverted per pruning row of Table 4/5 (the main run inverts the whole zoo). */
  pruningLoras: number;
  /** Meta-training steps per pruning row. */
  pruningMetaSteps: number;
  /** Episodes for the accuracy column of Table 4/5. */
  pruningEpisodes: number;
  /**
   * The ablation's pruned row: LoRA Recycle meta-trained on surrogates inverted with this schedule
   * for a backbone of `depth` blocks, evaluated like every other row; null: no such row (the
   * oracle and noise rows always run).
   */
  ablationPruning(depth: number): Record<string, number> | null;
  /** Whether the fine-tuning baselines run on a (set, shots) block; the tuning-free rows always do. */
  tunesOn(set: string, shots: number): boolean;
}

/** "layer 3 (last) 50 %" for {3: 0.5} in a 4-block backbone. */
export function pruningLabel(pruning: Record<string, number>, depth: number): string {
  return Object.entries(pruning)
    .map(([layer, ratio]) => `layer ${layer}${Number(layer) === depth - 1 ? ' (last)' : ''} ${ratio * 100} %`)
    .join(', ');
}

/** Pruning of the last block at `ratio` (the paper's default place). */
const lastLayer = (ratio: number) => (depth: number) => ({ [depth - 1]: ratio });

type PruningRow = ReturnType<ReproductionProfile['pruningRows']>[number];

/** Table 4/5 rows at `ratios`: none, then pruning in the last layer, then in the one before it. */
function pruningRowsAt(depth: number, ratios: readonly number[]): PruningRow[] {
  const last = depth - 1;
  const other = Math.max(0, depth - 2);
  return [
    { label: 'none', pruning: {} },
    ...ratios.map((ratio) => ({ label: pruningLabel({ [last]: ratio }, depth), pruning: { [last]: ratio } })),
    ...(other === last ? [] : ratios.map((ratio) => ({ label: pruningLabel({ [other]: ratio }, depth), pruning: { [other]: ratio } }))),
  ];
}

const atMost = (value: number, cap: number) => Math.min(value, cap);

/** Upper bounds on a configuration's budgets, section by section (numeric fields only). */
type BudgetCaps = {
  [S in 'zoo' | 'inversion' | 'metaTraining' | 'evaluation' | 'baselines']?: Partial<Record<keyof RunConfig[S], number>>;
};

/**
 * The caps of the quick and standard profiles, in one table. Caps, not fixed values, so a smaller
 * configuration (an end-to-end test's) stays as small as it is.
 */
const PROFILE_CAPS: Record<'quick' | 'standard', BudgetCaps> = {
  quick: {
    zoo: { size: 5, steps: 20 },
    inversion: { steps: 30, queries: 5 },
    metaTraining: { steps: 60, queries: 5, validateEvery: 30, checkpointEvery: 30, validationEpisodes: 10 },
    evaluation: { episodes: 30, queries: 5 },
    baselines: { episodes: 5, tuningSteps: 5, fullTuningSteps: 5 },
  },
  standard: {
    zoo: { size: 40, steps: 40 },
    inversion: { steps: 100, queries: 5 },
    metaTraining: { steps: 1000, queries: 5, validateEvery: 100, checkpointEvery: 100, validationEpisodes: 100 },
    evaluation: { episodes: 600 },
    baselines: { episodes: 50, tuningSteps: 10, fullTuningSteps: 10 },
  },
};

/** `base` with every capped budget at most its cap, named `name`. */
function capped(base: RunConfig, name: string, caps: BudgetCaps): RunConfig {
  const sections: Record<string, unknown> = {};
  for (const [section, fields] of Object.entries(caps) as [keyof BudgetCaps, Record<string, number>][]) {
    const values: Record<string, unknown> = { ...base[section] };
    for (const [field, cap] of Object.entries(fields)) values[field] = atMost(values[field] as number, cap);
    sections[section] = values;
  }
  return { ...base, name, ...sections };
}

/**
 * full: the configuration as given (configs/tiny.json: 600 episodes), pruning at 25/50/75 %.
 * quick: fits CI on 2 cores: every budget of the configuration capped (PROFILE_CAPS), one ratio
 * (50 %), the main domain's novel classes and MNIST only.
 */
export function profileFor(name: string, base: RunConfig): ReproductionProfile {
  const novel = mainSets(base).novel;
  if (name === 'full') {
    return {
      name: 'full',
      config: base,
      headline: headlineFor(base),
      crossDomainSets: base.evaluation.sets.filter((s) => s !== novel),
      pruningRows: (depth) => pruningRowsAt(depth, [0.25, 0.5, 0.75]),
      pruningLoras: 20,
      pruningMetaSteps: 500,
      pruningEpisodes: 200,
      ablationPruning: lastLayer(0.5),
      tunesOn: () => true,
    };
  }
  if (name === 'standard') return standardProfile(base);
  if (name !== 'quick') throw new ConfigError(`unknown profile "${name}"; expected quick, standard or full`);
  const config = capped(base, 'quick', PROFILE_CAPS.quick);
  return {
    name: 'quick',
    config,
    headline: headlineFor(base),
    crossDomainSets: base.evaluation.sets.includes('mnist') ? ['mnist'] : [],
    pruningRows: (depth) => pruningRowsAt(depth, [0.5]),
    pruningLoras: atMost(config.zoo.size, 2),
    pruningMetaSteps: atMost(config.metaTraining.steps, 20),
    pruningEpisodes: atMost(config.evaluation.episodes, 15),
    ablationPruning: () => null,
    tunesOn: () => true,
  };
}

/**
 * standard: the measured report of the project (reports/standard.*), sized for an hour on a
 * 2-core machine: 600 fixed episodes for the tuning-free rows on every set; the oracle and noise
 * ablation on a 40-LoRA zoo (200 base classes: meta-training on real episodes gains with the
 * classes it covers, reports/meta-headroom.md); up to 1000 meta-training steps validated every 100
 * on 100 episodes, each meta-LoRA ending early where the configuration's metaTraining.patience
 * says so; the fine-tuning baselines on 50 episodes of the main domain's novel classes, 1-shot,
 * with 10 steps at a head-sized learning rate (all of them on every set would take hours here).
 * No pruned inversion (about 11 minutes here): the quick profile's Table 4/5 and the full
 * profile's pruned row measure it.
 */
function standardProfile(base: RunConfig): ReproductionProfile {
  const novel = mainSets(base).novel;
  const withCaps = capped(base, 'standard', PROFILE_CAPS.standard);
  const config: RunConfig = { ...withCaps, baselines: { ...withCaps.baselines, learningRate: 1e-2 } };
  return {
    name: 'standard',
    config,
    headline: headlineFor(base),
    crossDomainSets: base.evaluation.sets.filter((s) => s !== novel),
    pruningRows: () => [],
    pruningLoras: 0,
    pruningMetaSteps: 0,
    pruningEpisodes: 0,
    ablationPruning: () => null,
    tunesOn: (set, shots) => set === novel && shots === 1,
  };
}

/** What a report records as its settings: the configuration and the Table 4/5 budgets of `profile`. */
export function profileSettings(profile: ReproductionProfile, depth: number): Record<string, unknown> {
  return {
    ...profile.config,
    headline: profile.headline,
    pruningRows: profile.pruningRows(depth),
    pruningLoras: profile.pruningLoras,
    pruningMetaSteps: profile.pruningMetaSteps,
    pruningEpisodes: profile.pruningEpisodes,
    ablationPruning: profile.ablationPruning(depth),
  };
}
