import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { UniformComposition, type LoRA } from '../adapters';
import { TUNING_FREE_METHODS, type MethodName } from '../baselines';
import { disposeEpisode, labelsAsArray, pairedDifference } from '../evaluation';
import type { MetaTrainResult } from '../meta';
import { ConfigError } from '../errors';
import { packageRoot } from '../paths/package-root';
import { writeFileAtomic } from '../io/atomic-write';
import { withTemporaryDir } from '../io/temp-dir';
import { patchCount } from '../model/config';
import type { RunControl } from '../progress/events';
import { loadRunConfig, pruningSchedule, type RunConfig } from './config';
import { featureDiversity, median, summary, windowedCurve } from './diagnostics';
import { evaluateGates, recycleVersusNn } from './gates';
import { disposeSurrogateSets, type RecordedSurrogateSet } from '../surrogate/set';
import type { PipelinePorts } from './ports';
import {
  ABLATION_PAIRS,
  ABLATION_VARIANTS,
  ablationStatements,
  pairedComparisons,
  zooKnowledge,
  zooKnowledgeStatement,
  type AblationVariant,
} from './ablation';
import { metaDir, metaLoraFile, saveArtifacts, saveMetaLora, surrogateDir } from './artifacts';
import { evaluationStage } from './evaluation-stage';
import { writeInversionFigure } from './inversion-figure';
import { mainSets, mainSpec } from './main-set';
import { profileFor, profileSettings, pruningLabel } from './profiles';
import { pairedWords, renderMarkdown, verdicts, type PruningRow, type ReproductionReport, type Table23Block } from './report';
import { correctCounts, queriesPerEpisode } from './episode-scores';
import { StageClock } from './stage-clock';
import { reportJson } from './report-file';
import { meanTokensKept, prototypeAccuracy, trainMetaLora, type TuningFreeRow } from './stages';

/**
 * The oracle's meta-training configuration: the run's, unless its real-image sets were capped
 * below the K + Q images per class an episode draws (each real image is used at most once, and
 * an emoji class has at most 12 drawings); then its episodes take the queries the sets hold. Both
 * facts go into the report's notes.
 */
function oracleMetaConfig(config: RunConfig, sets: readonly RecordedSurrogateSet[], notes: string[]): RunConfig {
  const counts = sets.map((set) => set.record.imagesPerClass ?? Number.POSITIVE_INFINITY);
  const fewest = Math.min(...counts);
  const capped = sets.filter((set) => set.record.capped).length;
  if (capped > 0) {
    notes.push(
      `Oracle: ${capped} of ${sets.length} LoRAs have a class with fewer real images than the ${sets[0].record.askedPerClass} an inversion makes; each such LoRA's classes were cut to its smallest class (at least ${fewest} images each), never repeating an image.`,
    );
  }
  const m = config.metaTraining;
  if (m.shots + m.queries <= fewest) return config;
  const queries = fewest - m.shots;
  if (queries < 1)
    throw new ConfigError(
      `oracle: the real-image sets hold ${fewest} images per class, too few for ${m.shots}-shot episodes with at least one query`,
    );
  notes.push(
    `Oracle: meta-training episodes draw ${m.shots} + ${queries} real images per class instead of ${m.shots} + ${m.queries}, the most the capped sets hold without repeating an image.`,
  );
  return { ...config, metaTraining: { ...m, queries } };
}

/**
 * The file name of a report: the profile's in the emoji domain (quick, standard),
 * "<profile>-<main domain>" in another (standard-glyph-domain).
 */
export function reportName(profileName: string, config: RunConfig): string {
  const domain = mainSpec(config).loader;
  return domain === 'emoji' ? profileName : `${profileName}-${domain}`;
}

/** A configuration file as the report's command names it: relative to the package when inside it. */
function configArgument(file: string): string {
  const relative = path.relative(packageRoot(), path.resolve(file));
  return relative.startsWith('..') ? file : relative;
}

export interface ReproduceOptions extends RunControl {
  outDir?: string; // default 'reports'
  /**
   * Zoo, surrogates, meta-LoRAs, checkpoints. Default <outDir>/<profile>-run, kept for reuse and
   * resumes; with write: false, a temporary directory removed at the end.
   */
  workDir?: string;
  configPath?: string; // default configs/tiny.json of the package (the emoji domain)
  /** Writes nothing when false (tests). */
  write?: boolean;
}

/**
 * The Table 2/3 analogue (novel emoji + cross-domain, every method, 1- and 5-shot) and the
 * Table 4/5 analogue (pruning ratios and layers: accuracy, inversion and meta-training
 * throughput, tokens kept), with diagnostics, to reports/<profile>.json and .md.
 */
export async function reproduce(profileName: string, ports: PipelinePorts, options: ReproduceOptions = {}): Promise<ReproductionReport> {
  const outDir = options.outDir ?? 'reports';
  const write = options.write ?? true;
  const base = loadRunConfig(options.configPath ?? path.join(packageRoot(), 'configs', 'tiny.json'));
  const name = reportName(profileName, base);
  if (options.workDir === undefined) {
    if (write) return reproduce(profileName, ports, { ...options, workDir: path.join(outDir, `${name}-run`) });
    return withTemporaryDir(`lora-recycle-${profileName}-`, (workDir) => reproduce(profileName, ports, { ...options, workDir }));
  }
  const started = Date.now();
  const profile = profileFor(profileName, base);
  const config = profile.config;
  const workDir = options.workDir;
  const control: RunControl = { onEvent: options.onEvent, signal: options.signal };
  const clock = new StageClock();
  const phase = (name: string, message?: string) => {
    clock.start(name);
    options.onEvent?.({ kind: 'phase', run: 'reproduce', phase: name, message });
  };
  const ev = config.evaluation;
  const notes: string[] = [];

  phase('backbone');
  const backbone = await ports.loadBackbone(config);
  const patches = patchCount(backbone.config);
  phase('zoo', `${config.zoo.size} LoRAs`);
  const zooOnDisk = await ports.zoo(backbone, config, path.join(workDir, 'zoo'), control);
  const zoo = zooOnDisk.entries;

  phase('inversion', `${zoo.length} LoRAs × ${config.inversion.steps} steps`);
  const invertAs = (variant: AblationVariant, inversion: RunConfig['inversion'], pruning: Record<number, number>) =>
    ports.invert(backbone, zooOnDisk, zoo, { ...config, inversion }, pruning, surrogateDir(workDir, variant), control);
  const inverted = await invertAs('lora-recycle', config.inversion, pruningSchedule(config.inversion.pruning));
  const main = mainSets(config);
  const validation = await ports.episodes(
    main.validation,
    { ways: ev.ways, shots: config.metaTraining.shots, queries: ev.queries },
    config.metaTraining.validationEpisodes,
    ev.seed + 1,
  );
  if (!validation) notes.push('No validation split available: the last meta-LoRA was kept (no selection).');
  phase('meta-training', `${config.metaTraining.steps} steps`);
  const { metaLora, result: metaResult } = await trainMetaLora(
    backbone,
    inverted,
    config,
    validation,
    metaDir(workDir, 'lora-recycle'),
    control,
  );

  // the ablation: the same meta-training on other images, the same teachers (ablation.ts)
  const variants = new Map<AblationVariant, { lora: LoRA; images: RecordedSurrogateSet[]; result: MetaTrainResult }>();
  variants.set('lora-recycle', { lora: metaLora, images: inverted, result: metaResult });
  const ablationPruning = profile.ablationPruning(backbone.config.depth);
  const sources: [AblationVariant, () => Promise<RecordedSurrogateSet[]>][] = [
    [
      'oracle',
      async () => {
        const out: RecordedSurrogateSet[] = [];
        for (const entry of zoo) out.push(await ports.realImages(backbone, entry, config));
        return out;
      },
    ],
    ['noise', () => invertAs('noise', { ...config.inversion, steps: 0 }, {})],
    ...(ablationPruning
      ? [
          ['lora-recycle-pruned', () => invertAs('lora-recycle-pruned', config.inversion, pruningSchedule(ablationPruning))] as [
            AblationVariant,
            () => Promise<RecordedSurrogateSet[]>,
          ],
        ]
      : []),
  ];
  for (const [variant, images] of sources) {
    phase(`ablation: ${variant}`, ABLATION_VARIANTS[variant]);
    const sets = await images();
    const variantConfig = variant === 'oracle' ? oracleMetaConfig(config, sets, notes) : config;
    const trained = await trainMetaLora(backbone, sets, variantConfig, validation, metaDir(workDir, variant), control);
    variants.set(variant, { lora: trained.metaLora, images: sets, result: trained.result });
  }

  phase('diagnostics');
  const diversity = tf.tidy(() => {
    const first = inverted.slice(0, 3);
    const features = tf.concat(
      first.map((set) => backbone.forward(set.images).features),
      0,
    ) as tf.Tensor2D;
    const labels = first.flatMap((set, s) => set.targets.map((t) => s * ev.ways + t));
    return featureDiversity(features, labels);
  });
  const inversionStats = new Map(
    [...variants].map(([variant, v]) => [
      variant,
      {
        inversionIterationsPerSecond: v.images.reduce((s, set) => s + set.record.iterationsPerSecond, 0) / v.images.length,
        tokensKept: meanTokensKept(v.images, patches),
      },
    ]),
  );
  const knowledge = zooKnowledge(zoo.map((z) => z.record));
  // NN on the episodes that select the meta-LoRAs, scored as their validation scores them
  const validationNn = validation ? await prototypeAccuracy(backbone, null, validation, config.metaTraining.distance) : null;
  const targetConfidenceBySource = Object.fromEntries(
    [...variants].map(([variant, v]) => [variant, summary(v.images.flatMap((set) => set.record.targetConfidence))]),
  );
  const medianTargetConfidence = median(inverted.flatMap((set) => set.record.targetConfidence));
  phase('artifacts', workDir);
  const artifacts = saveArtifacts(workDir, variants);
  const figureFile = `${name}-inversions.png`;
  const figureCaption = writeInversionFigure(path.join(outDir, figureFile), zoo, variants, 3, write);
  for (const v of variants.values()) disposeSurrogateSets(v.images);

  const table23: Table23Block[] = [];
  const uniform = UniformComposition.create(zoo.map((z) => z.parameters));
  const tuningFreeRows: TuningFreeRow[] = [
    { method: 'nn', adapter: null, scorer: 'nn' },
    { method: 'uniform-nn', adapter: uniform, scorer: 'uniform-nn' },
    ...[...variants].map(([method, v]) => ({
      method,
      adapter: v.lora,
      scorer: 'lora-recycle' as const,
      meta: metaLoraFile(workDir, method),
    })),
  ];
  const tunedMethods = config.baselines.methods.filter((m) => !TUNING_FREE_METHODS.includes(m as MethodName));
  // in this process, or (ports.redis) as jobs reading the zoo and saved meta-LoRAs under workDir
  const evaluation = evaluationStage(
    { backbone, zoo: zoo.map((z) => z.parameters), metaLora },
    { zoo: zooOnDisk.directory ?? undefined, meta: metaLoraFile(workDir, 'lora-recycle') },
    config,
    workDir,
    { ...control, redis: ports.redis },
  );
  let realWithinClass: number | undefined;
  const ablation: string[] = [];
  for (const set of [main.novel, ...profile.crossDomainSets]) {
    for (const shots of ev.shots) {
      const source = await ports.episodes(set, { ways: ev.ways, shots, queries: ev.queries }, ev.episodes, ev.seed);
      if (!source) {
        notes.push(`${set}: data not installed, skipped.`);
        break;
      }
      if (set === main.novel && shots === Math.max(...ev.shots)) {
        const e = source.episode(0);
        realWithinClass = tf.tidy(() => featureDiversity(backbone.forward(e.support).features, labelsAsArray(e.supportLabels))).withinClass;
        disposeEpisode(e);
      }
      phase('evaluation', `${set} ${shots}-shot`);
      const all = await evaluation.block(
        tuningFreeRows,
        profile.tunesOn(set, shots) ? tunedMethods : [],
        source,
        config.baselines.episodes,
      );
      const accuracies = new Map(all.map((r) => [r.method as string, r.accuracies]));
      const nn = accuracies.get('nn')!;
      const queries = queriesPerEpisode(source);
      const rows = all.map((r) => ({
        method: r.method,
        mean: r.mean,
        ci95: r.ci95,
        n: r.n,
        seconds: r.seconds,
        ...(r.method === 'nn' ? {} : { vsNn: pairedDifference(r.accuracies, nn) }),
        correct: correctCounts(r.accuracies, queries),
      }));
      const paired = pairedComparisons(accuracies, ABLATION_PAIRS);
      table23.push({ set, shots, rows, paired, queries });
      ablation.push(
        ...ablationStatements({
          setting: `${set} 5-way ${shots}-shot`,
          vsNn: Object.fromEntries(rows.map((r) => [r.method, r.vsNn])),
          paired,
        }),
      );
    }
  }
  uniform.dispose();

  // Table 4/5 rows the ablation already measured on the whole zoo (no pruning, and its pruned variant)
  const table45: PruningRow[] = [];
  const novelBlock = table23.find((b) => b.set === main.novel && b.shots === 1);
  if (ablationPruning && novelBlock) {
    for (const [variant, label, pruning] of [
      ['lora-recycle', 'none', {}],
      ['lora-recycle-pruned', pruningLabel(ablationPruning, backbone.config.depth), ablationPruning],
    ] as const) {
      const row = novelBlock.rows.find((r) => r.method === variant)!;
      table45.push({
        label: `${label} (whole zoo)`,
        pruning,
        accuracy: { mean: row.mean, ci95: row.ci95, n: row.n },
        ...inversionStats.get(variant)!,
        metaEpisodesPerSecond: variants.get(variant)!.result.episodesPerSecond,
        patchCount: patches,
      });
    }
  }
  const rows = profile.pruningRows(backbone.config.depth);
  const novelOneShot =
    rows.length > 0
      ? await ports.episodes(main.novel, { ways: ev.ways, shots: 1, queries: ev.queries }, profile.pruningEpisodes, ev.seed)
      : null;
  for (const row of rows) {
    phase('pruning', row.label);
    const dir = path.join(workDir, `pruning-${table45.length}`);
    const rowInverted = await ports.invert(
      backbone,
      zooOnDisk,
      zoo.slice(0, profile.pruningLoras),
      config,
      pruningSchedule(row.pruning),
      path.join(dir, 'surrogates'),
      control,
    );
    const { metaLora: rowLora, result } = await trainMetaLora(backbone, rowInverted, config, null, dir, {
      ...control,
      steps: profile.pruningMetaSteps,
    });
    const rowFile = path.join(dir, 'meta-lora.safetensors'); // kept as the ablation's are; the queue's jobs read it
    saveMetaLora(rowFile, rowLora, result, { variant: `pruning ${row.label}` });
    const accuracy = novelOneShot ? [await evaluation.metaLora(rowLora, rowFile, novelOneShot)] : [];
    table45.push({
      label: row.label,
      pruning: row.pruning,
      accuracy: accuracy[0] ? { mean: accuracy[0].mean, ci95: accuracy[0].ci95, n: accuracy[0].n } : { mean: NaN, ci95: NaN, n: 0 },
      inversionIterationsPerSecond: rowInverted.reduce((s, set) => s + set.record.iterationsPerSecond, 0) / rowInverted.length,
      metaEpisodesPerSecond: result.episodesPerSecond,
      tokensKept: meanTokensKept(rowInverted, patches),
      patchCount: patches,
    });
    disposeSurrogateSets(rowInverted);
    rowLora.dispose();
  }

  clock.stop();
  const statements = [...verdicts(table23, profile.headline), ...(knowledge ? [zooKnowledgeStatement(knowledge)] : []), ...ablation];
  const dense = table45.find((r) => Object.keys(r.pruning).length === 0);
  for (const row of table45) {
    if (row === dense || !dense) continue;
    statements.push(
      `${row.label}: meta-training ${(100 * (row.metaEpisodesPerSecond / dense.metaEpisodesPerSecond - 1)).toFixed(0)} % episodes/s and inversion ${(100 * (row.inversionIterationsPerSecond / dense.inversionIterationsPerSecond - 1)).toFixed(0)} % it/s against no pruning (one timing each, no interval); 1-shot accuracy ${(100 * (row.accuracy.mean - dense.accuracy.mean)).toFixed(2)} points (a difference of two means over ${row.accuracy.n} episodes, no paired interval, so no verdict).`,
    );
  }
  notes.push(
    `Profile ${profile.name}: zoo ${zoo.length} LoRAs, ${config.inversion.steps} inversion steps, ${config.metaTraining.steps} meta-training steps, ${ev.episodes} episodes for tuning-free methods and ${config.baselines.episodes} for fine-tuning ones (${config.baselines.tuningSteps} steps); the paper uses 100 LoRAs, 2000 inversion steps, 240,000 episodes and a CLIP ViT-B/16.`,
    `Every meta-LoRA (LoRA Recycle and the ablation's) selected on the ${main.validation} episodes, never on meta-test episodes; all rows of a block use the same episodes, and "vs NN" is the paired difference with its 95 % interval.`,
    `Artifacts kept in ${workDir}: ${artifacts.join(', ')}.`,
    ...(config.choicesAfterNovel ?? []).map(
      (choice) => `Chosen after a novel-class number was seen (configuration "${base.name}"): ${choice}`,
    ),
  );
  const headlineBlock = table23.find((b) => b.set === profile.headline.set && b.shots === profile.headline.shots);
  const headlineDifference = headlineBlock?.rows.find((r) => r.method === 'lora-recycle')?.vsNn;
  const headlineWords = headlineDifference ? pairedWords('LoRA Recycle', 'NN', headlineDifference) : undefined;
  const gates = evaluateGates({
    zooKnowledge: knowledge,
    headlineBlock,
    medianTargetConfidence,
    withinClassDiversity: diversity.withinClass,
    realWithinClassDiversity: realWithinClass ?? null,
  });
  const otherShots = table23
    .filter((b) => b.set === profile.headline.set && b.shots !== profile.headline.shots)
    .map(recycleVersusNn)
    .filter((line): line is string => line !== null);
  const headlineStatement = headlineWords ? `${headlineWords[0].toUpperCase()}${headlineWords.slice(1)}.` : undefined;
  const report: ReproductionReport = {
    profile: profile.name,
    ...(name === profile.name
      ? {}
      : { name, command: `npm run reproduce -- --profile ${profile.name} --config ${configArgument(options.configPath!)}` }),
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    stageSeconds: clock.seconds(),
    machine: { cpus: os.cpus().length, backend: tf.getBackend(), node: process.version },
    settings: profileSettings(profile, backbone.config.depth),
    headline:
      headlineBlock && headlineDifference
        ? {
            set: headlineBlock.set,
            ways: ev.ways,
            shots: headlineBlock.shots,
            recycleMinusNn: {
              mean: 100 * headlineDifference.mean,
              ci95: headlineDifference.ci95 === null ? null : 100 * headlineDifference.ci95,
            },
            verdict: headlineWords,
            preregistered: `the "${profile.name}" profile (src/reproduce/profiles.ts) names LoRA Recycle − NN on ${profile.headline.set} 5-way ${profile.headline.shots}-shot as its one headline`,
          }
        : null,
    ...(headlineStatement ? { headlineStatement } : {}),
    gates,
    ...(otherShots.length > 0 ? { besideHeadline: otherShots } : {}),
    ...(figureCaption ? { figure: { file: figureFile, caption: figureCaption } } : {}),
    table23,
    table45,
    diagnostics: {
      targetConfidence: targetConfidenceBySource['lora-recycle'],
      ...(medianTargetConfidence !== null ? { medianTargetConfidence } : {}),
      targetConfidenceBySource,
      surrogateDiversity: { ...diversity, ...(realWithinClass !== undefined ? { realWithinClass } : {}) },
      learningCurve: windowedCurve(metaResult.history, ['loss', 'accuracy']) as { step: number; loss: number; accuracy: number }[],
      validation: metaResult.validation,
      bestStep: metaResult.best?.step ?? null,
      bestStepBySource: Object.fromEntries([...variants].map(([variant, v]) => [variant, v.result.best?.step ?? null])),
      logitScaleBySource: Object.fromEntries([...variants].map(([variant, v]) => [variant, v.result.logitScale])),
      ...(knowledge ? { zooKnowledge: knowledge } : {}),
      ...(validationNn !== null
        ? {
            selectedValidation: {
              nn: validationNn,
              bySource: Object.fromEntries([...variants].map(([variant, v]) => [variant, v.result.best?.accuracy ?? null])),
            },
          }
        : {}),
    },
    statements,
    notes,
  };
  for (const v of variants.values()) v.lora.dispose();
  zooOnDisk.dispose();
  backbone.dispose();
  if (write) {
    writeFileAtomic(path.join(outDir, `${name}.json`), reportJson(report));
    writeFileAtomic(path.join(outDir, `${name}.md`), renderMarkdown(report));
  }
  return report;
}
