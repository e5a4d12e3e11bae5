import { isDeepStrictEqual } from 'util';
import { TUNING_FREE_METHODS } from '../baselines';
import { ConfigError, FileFormatError } from '../errors';
import type { RunConfig } from './config';
import { profileSettings, type ReproductionProfile } from './profiles';
import type { PruningRow, ReproductionReport } from './report';

/** The estimated wall time of one stage of a profile, with the work it stands for. */
export interface StageEstimate {
  stage: string; // the reproduction's phase name: zoo, inversion, meta-training, evaluation, pruning, fixed
  seconds: number;
  work: string; // the unit counts, e.g. "100 LoRAs × 200 steps × 80 images"
  parts: { label: string; seconds: number }[]; // per method, per pruning row, ... (empty when one part)
}

export interface RunTimeEstimate {
  profile: string;
  measuredOn: { profile: string; startedAt: string; seconds: number; machine: ReproductionReport['machine']; file?: string }; // file: the report read, where known
  stages: StageEstimate[];
  totalSeconds: number;
  /** The total if a step cost no more at the full profile's batch sizes than at the quick profile's. */
  lowerBoundSeconds: number;
  assumptions: string[];
}

/** Methods tuned with `baselines.fullTuningSteps` (src/baselines/methods.ts); the other tuned ones use `tuningSteps`. */
const FULL_TUNING_METHODS: readonly string[] = ['full-finetune'];
/** The Table 4/5 accuracy column is LoRA Recycle on 1-shot episodes (src/reproduce/reproduce.ts). */
const PRUNING_ACCURACY_SHOTS = 1;
/** Stages whose time does not depend on the profile's budgets. */
const FIXED_STAGES = ['backbone', 'diagnostics'];

const malformed = (detail: string) => new FileFormatError(undefined, `quick report: ${detail}`);
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => sum(xs) / xs.length;

const imagesPerInversionStep = (c: RunConfig) => c.zoo.ways * (c.inversion.shots + c.inversion.queries);
const imagesPerMetaEpisode = (c: RunConfig) => c.evaluation.ways * (c.metaTraining.shots + c.metaTraining.queries);
const imagesPerEvaluationEpisode = (c: RunConfig, shots: number) => c.evaluation.ways * (shots + c.evaluation.queries);
/** Validations of a meta-training run: every `every` steps and at the last step. */
const validationsIn = (steps: number, every: number) => Math.floor(steps / every) + (steps % every === 0 ? 0 : 1);
const isTuningFree = (method: string) => (TUNING_FREE_METHODS as readonly string[]).includes(method);
const tuningStepsOf = (c: RunConfig, method: string) =>
  FULL_TUNING_METHODS.includes(method) ? c.baselines.fullTuningSteps : c.baselines.tuningSteps;

/** Seconds per unit of work, measured by the quick run. */
interface UnitCosts {
  /** Inversion seconds per step per image under a pruning schedule. */
  inversion(pruning: Record<string, number>): number;
  /** Meta-training seconds per episode per image under a pruning schedule (the surrogates' pruning). */
  metaTraining(pruning: Record<string, number>): number;
  /** Seconds of one evaluation episode of `method` at `shots` under configuration `c`. */
  evaluation(method: string, shots: number, c: RunConfig): number;
}

/**
 * Seconds per step at a pruning schedule of one layer, linear in the ratio between the measured
 * unpruned row and the measured row of the same layer (exact at the measured ratio).
 */
function pruningInterpolation(
  rows: readonly PruningRow[],
  secondsOf: (row: PruningRow) => number,
): (pruning: Record<string, number>) => number {
  const dense = rows.find((r) => Object.keys(r.pruning).length === 0);
  if (!dense) throw malformed('Table 4/5 has no unpruned row ("none"), the base of every inversion and meta-training rate');
  return (pruning) => {
    const layers = Object.entries(pruning);
    if (layers.length === 0) return secondsOf(dense);
    if (layers.length > 1) throw new ConfigError(`the estimate models pruning in one layer per row, found ${JSON.stringify(pruning)}`);
    const [layer, ratio] = layers[0];
    const measured = rows.find((r) => Object.keys(r.pruning).length === 1 && r.pruning[layer] !== undefined);
    if (!measured) throw malformed(`Table 4/5 has no row pruning layer ${layer}, needed for ${JSON.stringify(pruning)}`);
    return secondsOf(dense) + (ratio / measured.pruning[layer]) * (secondsOf(measured) - secondsOf(dense));
  };
}

function positiveRate(value: number, what: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw malformed(`${what} must be a positive rate, found ${value}`);
  return value;
}

/** The quick report's measured seconds per episode of `method` at `shots`, averaged over its sets. */
function secondsPerEpisode(quick: ReproductionReport, method: string, shots: number): number {
  const rows = quick.table23.filter((b) => b.shots === shots).flatMap((b) => b.rows.filter((r) => r.method === method && r.n > 0));
  if (rows.length === 0) throw malformed(`no Table 2/3 row of ${method} at ${shots}-shot to measure its evaluation cost`);
  return mean(rows.map((r) => r.seconds / r.n));
}

function unitCosts(quick: ReproductionReport, q: RunConfig): UnitCosts {
  const inversionImages = imagesPerInversionStep(q);
  const metaImages = imagesPerMetaEpisode(q);
  return {
    inversion: pruningInterpolation(
      quick.table45,
      (r) => 1 / (positiveRate(r.inversionIterationsPerSecond, `${r.label}: inversion it/s`) * inversionImages),
    ),
    metaTraining: pruningInterpolation(
      quick.table45,
      (r) => 1 / (positiveRate(r.metaEpisodesPerSecond, `${r.label}: meta-training episodes/s`) * metaImages),
    ),
    evaluation(method, shots, c) {
      // the forward passes of an episode scale with its images; nn's episode is exactly those passes
      const passes = (m: string) =>
        (secondsPerEpisode(quick, m, shots) / imagesPerEvaluationEpisode(q, shots)) * imagesPerEvaluationEpisode(c, shots);
      if (isTuningFree(method)) return passes(method);
      // a tuned method adds support-set tuning steps (the support does not change with the queries)
      const tuning = Math.max(0, secondsPerEpisode(quick, method, shots) - secondsPerEpisode(quick, 'nn', shots));
      return passes('nn') + tuning * (tuningStepsOf(c, method) / tuningStepsOf(q, method));
    },
  };
}

const stage = (name: string, work: string, parts: { label: string; seconds: number }[]): StageEstimate => ({
  stage: name,
  seconds: sum(parts.map((p) => p.seconds)),
  work,
  parts: parts.length > 1 ? parts : [],
});

/** The budget-dependent stages of `profile` at `costs` (all but the zoo and the fixed stages). */
function modelledStages(profile: ReproductionProfile, depth: number, costs: UnitCosts): StageEstimate[] {
  const c = profile.config;
  const inv = c.inversion;
  const meta = c.metaTraining;
  const ev = c.evaluation;
  const invImages = imagesPerInversionStep(c);
  const metaImages = imagesPerMetaEpisode(c);
  const validations = validationsIn(meta.steps, meta.validateEvery);
  const sets = [profile.headline.set, ...profile.crossDomainSets];
  const evaluationParts = c.baselines.methods.map((method) => {
    const episodes = isTuningFree(method) ? ev.episodes : Math.min(c.baselines.episodes, ev.episodes);
    return { label: method, seconds: sets.length * sum(ev.shots.map((shots) => episodes * costs.evaluation(method, shots, c))) };
  });
  const pruningParts = profile.pruningRows(depth).map((row) => ({
    label: row.label,
    seconds:
      profile.pruningLoras * inv.steps * invImages * costs.inversion(row.pruning) +
      profile.pruningMetaSteps * metaImages * costs.metaTraining(row.pruning) +
      profile.pruningEpisodes * costs.evaluation('lora-recycle', PRUNING_ACCURACY_SHOTS, c),
  }));
  return [
    stage('inversion', `${c.zoo.size} LoRAs × ${inv.steps} steps × ${invImages} images`, [
      { label: 'inversion', seconds: c.zoo.size * inv.steps * invImages * costs.inversion(inv.pruning) },
    ]),
    stage(
      'meta-training',
      `${meta.steps} steps × ${metaImages} images + ${validations} validations × ${meta.validationEpisodes} episodes`,
      [
        { label: 'training steps', seconds: meta.steps * metaImages * costs.metaTraining(inv.pruning) },
        { label: 'validation', seconds: validations * meta.validationEpisodes * costs.evaluation('lora-recycle', meta.shots, c) },
      ],
    ),
    stage(
      'evaluation',
      `${c.baselines.methods.length} methods × ${sets.length} sets × ${ev.shots.join('/')}-shot, ${ev.episodes} episodes (tuned methods: ${Math.min(c.baselines.episodes, ev.episodes)} episodes of ${c.baselines.tuningSteps} tuning steps, full fine-tuning ${c.baselines.fullTuningSteps})`,
      evaluationParts,
    ),
    stage(
      'pruning',
      `${pruningParts.length} rows × (${profile.pruningLoras} LoRAs × ${inv.steps} inversion steps + ${profile.pruningMetaSteps} meta-training steps + ${profile.pruningEpisodes} episodes)`,
      pruningParts,
    ),
  ];
}

/** The backbone depth of the quick run: its Table 4/5 always prunes the last layer. */
function depthOf(quick: ReproductionReport): number {
  const layers = quick.table45.flatMap((r) => Object.keys(r.pruning).map(Number));
  if (layers.length === 0) throw malformed('Table 4/5 has no pruned row, so the backbone depth is unknown');
  return Math.max(...layers) + 1;
}

const zooWork = (c: RunConfig) => c.zoo.size * c.zoo.steps;
const zooStage = (quickSeconds: number, q: RunConfig, target: RunConfig) =>
  stage('zoo', `${target.zoo.size} LoRAs × ${target.zoo.steps} pre-tuning steps`, [
    { label: 'zoo', seconds: (quickSeconds / zooWork(q)) * zooWork(target) },
  ]);
const scaledBy = (s: StageEstimate, factor: number): StageEstimate => ({
  ...s,
  seconds: s.seconds * factor,
  parts: s.parts.map((p) => ({ ...p, seconds: p.seconds * factor })),
});

/**
 * Every stage of `target`. With the quick run's stage wall times, each modelled stage is scaled
 * by its measured wall over its modelled time (the bookkeeping around the timed loops), the zoo
 * by its steps, and the fixed stages kept; without them, the wall time no rate accounts for is
 * charged to the zoo (an upper bound for it).
 */
function estimatedStages(
  quick: ReproductionReport,
  quickProfile: ReproductionProfile,
  target: ReproductionProfile,
  depth: number,
  costs: UnitCosts,
): StageEstimate[] {
  const measured = modelledStages(quickProfile, depth, costs);
  const modelled = modelledStages(target, depth, costs);
  const wall = quick.stageSeconds;
  if (wall?.zoo === undefined) {
    const unaccounted = Math.max(0, quick.seconds - sum(measured.map((s) => s.seconds)));
    return [zooStage(unaccounted, quickProfile.config, target.config), ...modelled];
  }
  return [
    zooStage(wall.zoo, quickProfile.config, target.config),
    ...modelled.map((s, i) => scaledBy(s, (wall[s.stage] ?? measured[i].seconds) / Math.max(measured[i].seconds, 1e-9))),
    stage('fixed', FIXED_STAGES.join(' + '), [{ label: 'fixed', seconds: sum(FIXED_STAGES.map((name) => wall[name] ?? 0)) }]),
  ];
}

/** `profile` with the query counts (hence the batch sizes) of `other`. */
function atBatchesOf(profile: ReproductionProfile, other: RunConfig): ReproductionProfile {
  const c = profile.config;
  return {
    ...profile,
    config: {
      ...c,
      inversion: { ...c.inversion, queries: other.inversion.queries },
      metaTraining: { ...c.metaTraining, queries: other.metaTraining.queries },
      evaluation: { ...c.evaluation, queries: other.evaluation.queries },
    },
  };
}

function assumptionsOf(
  quick: ReproductionReport,
  quickProfile: ReproductionProfile,
  fullProfile: ReproductionProfile,
  depth: number,
  costs: UnitCosts,
): string[] {
  const q = quickProfile.config;
  const f = fullProfile.config;
  const accounted = sum(modelledStages(quickProfile, depth, costs).map((s) => s.seconds));
  return [
    `Measured on ${quick.machine.cpus} CPU cores, backend ${quick.machine.backend}, Node ${quick.machine.node} (${quick.profile} profile run of ${quick.startedAt}, ${quick.seconds.toFixed(0)} s).`,
    'Cost is linear in the number of steps and episodes, and per step linear in the images it processes: inversion steps ways × (shots + queries) ' +
      `(${imagesPerInversionStep(q)} images quick, ${imagesPerInversionStep(f)} full), meta-training episodes ways × (shots + queries) (${imagesPerMetaEpisode(q)} quick, ${imagesPerMetaEpisode(f)} full), ` +
      `evaluation episodes ways × (shots + queries) (queries ${q.evaluation.queries} quick, ${f.evaluation.queries} full). A fixed cost per step makes this an overestimate; the lower bound assumes a step costs the same at the full profile's batches as at the quick profile's.`,
    'Inversion and meta-training rates are those of the Table 4/5 rows (timed loops only); at a pruning ratio the quick run did not measure, seconds per step are linear in the ratio between the unpruned row and the measured ratio of the same layer.',
    `A tuned method's episode is nn's forward passes plus support-set tuning (its measured time above nn's), the tuning scaled by the tuning steps (${q.baselines.tuningSteps} → ${f.baselines.tuningSteps}; full fine-tuning ${q.baselines.fullTuningSteps} → ${f.baselines.fullTuningSteps}).`,
    'Evaluation cost per episode depends on the method and the shots, not on the data set: sets the quick run did not evaluate take the mean over those it did; every set of the configuration is assumed installed.',
    `Composition methods (uniform-nn, learned-composition) are taken to cost the same with ${f.zoo.size} zoo LoRAs as with ${q.zoo.size}; not measured.`,
    'A meta-training validation episode (emoji validation split, every validateEvery steps and at the last step) costs as much as a LoRA Recycle evaluation episode at the meta-training shots.',
    quick.stageSeconds?.zoo === undefined
      ? `The quick report has no stage wall times: the ${Math.max(0, quick.seconds - accounted).toFixed(0)} s of its ${quick.seconds.toFixed(0)} s that the measured rates do not account for (zoo pre-tuning, backbone and data loading, diagnostics, bookkeeping around the timed loops) are charged to zoo pre-tuning and scaled by its steps (${zooWork(q)} → ${zooWork(f)}): an upper bound for the zoo, while the other stages count their timed loops only.`
      : 'Each modelled stage is scaled by its measured wall time over its modelled time in the quick run (the bookkeeping around the timed loops); backbone loading and diagnostics take as long as in the quick run.',
  ];
}

/**
 * The run time of `fullProfile` on the machine of the quick report: every stage's measured cost
 * per unit (inversion step per image, meta-training episode per image, evaluation episode per
 * method and shots, zoo pre-tuning step) times the full profile's units, plus a lower bound with
 * the per-step costs of the quick profile's batch sizes.
 */
export function estimateRunTime(
  quick: ReproductionReport,
  quickProfile: ReproductionProfile,
  fullProfile: ReproductionProfile,
): RunTimeEstimate {
  if (quick.profile !== quickProfile.name) throw malformed(`measured profile "${quick.profile}", expected "${quickProfile.name}"`);
  const depth = depthOf(quick);
  if (!isDeepStrictEqual(quick.settings, profileSettings(quickProfile, depth))) {
    throw malformed(
      `its settings differ from the ${quickProfile.name} profile of the current configuration; run the ${quickProfile.name} profile again`,
    );
  }
  const costs = unitCosts(quick, quickProfile.config);
  const stages = estimatedStages(quick, quickProfile, fullProfile, depth, costs);
  const atQuickBatches = estimatedStages(quick, quickProfile, atBatchesOf(fullProfile, quickProfile.config), depth, costs);
  return {
    profile: fullProfile.name,
    measuredOn: { profile: quick.profile, startedAt: quick.startedAt, seconds: quick.seconds, machine: quick.machine },
    stages,
    totalSeconds: sum(stages.map((s) => s.seconds)),
    lowerBoundSeconds: sum(atQuickBatches.map((s) => s.seconds)),
    assumptions: assumptionsOf(quick, quickProfile, fullProfile, depth, costs),
  };
}
