import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { TUNING_FREE_METHODS } from '../baselines';
import { disposeEpisode, labelsAsArray } from '../evaluation';
import { packageRoot } from '../backbone/package-root';
import { writeFileAtomic } from '../io/atomic-write';
import { withTemporaryDir } from '../io/temp-dir';
import { patchCount } from '../model/config';
import type { RunControl } from '../progress/events';
import { loadRunConfig, pruningSchedule } from './config';
import { featureDiversity, summary, windowedCurve } from './diagnostics';
import type { PipelinePorts } from './ports';
import { profileFor, profileSettings } from './profiles';
import { renderMarkdown, verdicts, type PruningRow, type ReproductionReport, type Table23Block } from './report';
import { StageClock } from './stage-clock';
import { compareMethods, disposeInverted, invertZoo, meanTokensKept, trainMetaLora } from './stages';

export interface ReproduceOptions extends RunControl {
  outDir?: string; // default 'reports'
  workDir?: string; // zoo, checkpoints; default a fresh temporary directory, removed at the end
  tinyConfigPath?: string; // default configs/tiny.json of the package
  /** Writes nothing when false (tests). */
  write?: boolean;
}

/**
 * The Table 2/3 analogue (novel emoji + cross-domain, every method, 1- and 5-shot) and the
 * Table 4/5 analogue (pruning ratios and layers: accuracy, inversion and meta-training
 * throughput, tokens kept), with diagnostics, to reports/<profile>.json and .md.
 */
export async function reproduce(profileName: string, ports: PipelinePorts, options: ReproduceOptions = {}): Promise<ReproductionReport> {
  if (options.workDir === undefined) return withTemporaryDir(`lora-recycle-${profileName}-`, (workDir) => reproduce(profileName, ports, { ...options, workDir }));
  const started = Date.now();
  const tiny = loadRunConfig(options.tinyConfigPath ?? path.join(packageRoot(), 'configs', 'tiny.json'));
  const profile = profileFor(profileName, tiny);
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
  const inverted = await invertZoo(ports, backbone, zoo, config, pruningSchedule(config.inversion.pruning), zoo.length, control);
  const validation = await ports.episodes('emoji-validation', { ways: ev.ways, shots: config.metaTraining.shots, queries: ev.queries }, config.metaTraining.validationEpisodes, ev.seed + 1);
  if (!validation) notes.push('No validation split available: the last meta-LoRA was kept (no selection).');
  phase('meta-training', `${config.metaTraining.steps} steps`);
  const { metaLora, result: metaResult } = await trainMetaLora(backbone, inverted, config, validation, path.join(workDir, 'meta'), control);

  phase('diagnostics');
  const confidences = inverted.flatMap((i) => i.teacherConfidence);
  const diversity = tf.tidy(() => {
    const first = inverted.slice(0, 3);
    const features = tf.concat(first.map((i) => backbone.forward(i.set.images).features), 0) as tf.Tensor2D;
    const labels = first.flatMap((i, s) => i.set.targets.map((t) => s * ev.ways + t));
    return featureDiversity(features, labels);
  });
  disposeInverted(inverted);

  const table23: Table23Block[] = [];
  const context = { backbone, zoo: zoo.map((z) => z.parameters), metaLora };
  let realWithinClass: number | undefined;
  for (const set of ['emoji-novel', ...profile.crossDomainSets]) {
    for (const shots of ev.shots) {
      const source = await ports.episodes(set, { ways: ev.ways, shots, queries: ev.queries }, ev.episodes, ev.seed);
      if (!source) { notes.push(`${set}: data not installed, skipped.`); break; }
      if (set === 'emoji-novel' && shots === Math.max(...ev.shots)) {
        const e = source.episode(0);
        realWithinClass = tf.tidy(() => featureDiversity(backbone.forward(e.support).features, labelsAsArray(e.supportLabels))).withinClass;
        disposeEpisode(e);
      }
      phase('evaluation', `${set} ${shots}-shot`);
      const results = await compareMethods(context, config.baselines.methods, source, config.baselines.episodes, config, control, TUNING_FREE_METHODS);
      table23.push({ set, shots, rows: results.map((r) => ({ method: r.method, mean: r.mean, ci95: r.ci95, n: r.n, seconds: r.seconds })) });
    }
  }

  const table45: PruningRow[] = [];
  const novelOneShot = await ports.episodes('emoji-novel', { ways: ev.ways, shots: 1, queries: ev.queries }, profile.pruningEpisodes, ev.seed);
  const rows = profile.pruningRows(backbone.config.depth);
  for (const row of rows) {
    phase('pruning', row.label);
    const rowInverted = await invertZoo(ports, backbone, zoo, config, pruningSchedule(row.pruning), profile.pruningLoras, control);
    const dir = path.join(workDir, `pruning-${table45.length}`);
    const { metaLora: rowLora, result } = await trainMetaLora(backbone, rowInverted, config, null, dir, { ...control, steps: profile.pruningMetaSteps });
    const accuracy = novelOneShot
      ? await compareMethods({ backbone, zoo: [], metaLora: rowLora }, ['lora-recycle'], novelOneShot, 0, config, control, TUNING_FREE_METHODS)
      : [];
    table45.push({
      label: row.label, pruning: row.pruning,
      accuracy: accuracy[0] ? { mean: accuracy[0].mean, ci95: accuracy[0].ci95, n: accuracy[0].n } : { mean: NaN, ci95: NaN, n: 0 },
      inversionIterationsPerSecond: rowInverted.reduce((s, i) => s + i.iterationsPerSecond, 0) / rowInverted.length,
      metaEpisodesPerSecond: result.episodesPerSecond,
      tokensKept: meanTokensKept(rowInverted, patches), patchCount: patches,
    });
    disposeInverted(rowInverted);
    rowLora.dispose();
  }

  clock.stop();
  const statements = verdicts(table23);
  const dense = table45.find((r) => Object.keys(r.pruning).length === 0);
  for (const row of table45) {
    if (row === dense || !dense) continue;
    statements.push(`${row.label}: meta-training ${(100 * (row.metaEpisodesPerSecond / dense.metaEpisodesPerSecond - 1)).toFixed(0)} % episodes/s and inversion ${(100 * (row.inversionIterationsPerSecond / dense.inversionIterationsPerSecond - 1)).toFixed(0)} % it/s against no pruning; 1-shot accuracy ${(100 * (row.accuracy.mean - dense.accuracy.mean)).toFixed(2)} points.`);
  }
  notes.push(
    `Profile ${profile.name}: zoo ${zoo.length} LoRAs, ${config.inversion.steps} inversion steps, ${config.metaTraining.steps} meta-training steps, ${ev.episodes} episodes for tuning-free methods and ${config.baselines.episodes} for fine-tuning ones (${config.baselines.tuningSteps} steps); the paper uses 100 LoRAs, 2000 inversion steps, 240,000 episodes and a CLIP ViT-B/16.`,
    'Meta-LoRA selected on the emoji validation split (never on meta-test episodes).',
  );
  const report: ReproductionReport = {
    profile: profile.name,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    stageSeconds: clock.seconds(),
    machine: { cpus: os.cpus().length, backend: tf.getBackend(), node: process.version },
    settings: profileSettings(profile, backbone.config.depth),
    table23,
    table45,
    diagnostics: {
      teacherConfidence: summary(confidences),
      surrogateDiversity: { ...diversity, ...(realWithinClass !== undefined ? { realWithinClass } : {}) },
      learningCurve: windowedCurve(metaResult.history, ['loss', 'accuracy']) as { step: number; loss: number; accuracy: number }[],
      validation: metaResult.validation,
      bestStep: metaResult.best?.step ?? null,
    },
    statements,
    notes,
  };
  metaLora.dispose();
  zooOnDisk.dispose();
  backbone.dispose();
  if (options.write ?? true) {
    const outDir = options.outDir ?? 'reports';
    writeFileAtomic(path.join(outDir, `${profile.name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileAtomic(path.join(outDir, `${profile.name}.md`), renderMarkdown(report));
  }
  return report;
}
