import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { MetaTrainResult } from '../meta';
import { packageRoot } from '../paths/package-root';
import { zooKnowledgeStatement, type AblationVariant } from './ablation';
import type { RunConfig } from './config';
import type { CpuUse } from './cpu-use';
import { windowedCurve } from './diagnostics';
import { evaluateGates, recycleVersusNn } from './gates';
import { mainSets } from './main-set';
import { profileSettings, type ReproductionProfile } from './profiles';
import { pairedWords, verdicts, type PruningRow, type ReproductionReport, type Table23Block } from './report';
import type { RunDiagnostics } from './run-stages';
import { contrastOf, oracleHere, type ContrastRow } from './contrast';

/** A configuration file as the report's command names it: relative to the package when inside it. */
function configArgument(file: string): string {
  const relative = path.relative(packageRoot(), path.resolve(file));
  return relative.startsWith('..') ? file : relative;
}

/** Everything the report is assembled from: the run's identity and timing, and each stage's outputs. */
export interface ReportInputs {
  profile: ReproductionProfile;
  base: RunConfig; // the configuration file's, before the profile's limits
  name: string; // reportName
  configPath?: string;
  startedAt: number; // Date.now() at the start
  stageSeconds: Record<string, number>;
  zooTuningSeconds?: number; // summed over the zoo's tuning records, when they have it
  cpu?: CpuUse; // where the run's CPU time went (cpu-use.ts)
  depth: number; // the backbone's
  zooSize: number;
  workDir: string;
  artifacts: string[];
  figure: { file: string; caption: string | null };
  diagnostics: RunDiagnostics;
  realWithinClass?: number;
  results: ReadonlyMap<AblationVariant, MetaTrainResult>; // each variant's meta-training, LoRA Recycle's first
  table23: Table23Block[];
  table45: PruningRow[];
  ablation: string[]; // the ablation's statements, block by block
  notes: string[]; // the stages' notes; the report's own follow them
  contrast?: ContrastRow[]; // the configuration's contrast, read when the run started (readContrast)
}

/**
 * The reproduction report, assembled in this one place from the stages' outputs: the headline and
 * its verdict, the gates, the statements (verdicts, the zoo's knowledge, the ablation, the pruning
 * rows against no pruning), the diagnostics and the notes.
 */
export function assembleReport(inputs: ReportInputs): ReproductionReport {
  const { profile, diagnostics, table23, table45, results } = inputs;
  const config = profile.config;
  const ev = config.evaluation;
  const { knowledge, medianTargetConfidence, validationNn, diversity, targetConfidenceBySource, inkMatchBySource } = diagnostics;
  const recycle = results.get('lora-recycle')!;
  const notes = inputs.notes;
  const statements = [...verdicts(table23, profile.headline), ...(knowledge ? [zooKnowledgeStatement(knowledge)] : []), ...inputs.ablation];
  const dense = table45.find((r) => Object.keys(r.pruning).length === 0);
  for (const row of table45) {
    if (row === dense || !dense) continue;
    statements.push(
      `${row.label}: meta-training ${(100 * (row.metaEpisodesPerSecond / dense.metaEpisodesPerSecond - 1)).toFixed(0)} % episodes/s and inversion ${(100 * (row.inversionIterationsPerSecond / dense.inversionIterationsPerSecond - 1)).toFixed(0)} % it/s against no pruning (one timing each, no interval); 1-shot accuracy ${(100 * (row.accuracy.mean - dense.accuracy.mean)).toFixed(2)} points (a difference of two means over ${row.accuracy.n} episodes, no paired interval, so no verdict).`,
    );
  }
  notes.push(
    `Profile ${profile.name}: zoo ${inputs.zooSize} LoRAs, ${config.inversion.steps} inversion steps, ${config.metaTraining.steps} meta-training steps, ${ev.episodes} episodes for tuning-free methods and ${config.baselines.episodes} for fine-tuning ones (${config.baselines.tuningSteps} steps); the paper uses 100 LoRAs, 2000 inversion steps, 240,000 episodes and a CLIP ViT-B/16.`,
    `Every meta-LoRA (LoRA Recycle and the ablation's) selected on the ${mainSets(config).validation} episodes, never on meta-test episodes; all rows of a block use the same episodes, and "vs NN" is the paired difference with its 95 % interval.`,
    `Artifacts kept in ${inputs.workDir}: ${inputs.artifacts.join(', ')}.`,
    ...(config.choicesAfterNovel ?? []).map(
      (choice) => `Chosen after a novel-class number was seen (configuration "${inputs.base.name}"): ${choice}`,
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
    realWithinClassDiversity: inputs.realWithinClass ?? null,
  });
  const otherShots = table23
    .filter((b) => b.set === profile.headline.set && b.shots !== profile.headline.shots)
    .map(recycleVersusNn)
    .filter((line): line is string => line !== null);
  const headlineStatement = headlineWords ? `${headlineWords[0].toUpperCase()}${headlineWords.slice(1)}.` : undefined;
  const realWithinClass = inputs.realWithinClass;
  return {
    profile: profile.name,
    ...(inputs.name === profile.name
      ? {}
      : { name: inputs.name, command: `npm run reproduce -- --profile ${profile.name} --config ${configArgument(inputs.configPath!)}` }),
    startedAt: new Date(inputs.startedAt).toISOString(),
    seconds: (Date.now() - inputs.startedAt) / 1000,
    stageSeconds: inputs.stageSeconds,
    ...(inputs.zooTuningSeconds === undefined ? {} : { zooTuningSeconds: inputs.zooTuningSeconds }),
    ...(inputs.cpu === undefined ? {} : { cpu: inputs.cpu }),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim(), backend: tf.getBackend(), node: process.version },
    settings: profileSettings(profile, inputs.depth),
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
    ...(inputs.contrast && inputs.contrast.length > 0 ? { contrast: contrastOf(inputs.contrast, oracleHere(headlineBlock)) } : {}),
    ...(inputs.figure.caption ? { figure: { file: inputs.figure.file, caption: inputs.figure.caption } } : {}),
    table23,
    table45,
    diagnostics: {
      targetConfidence: targetConfidenceBySource['lora-recycle'],
      ...(medianTargetConfidence !== null ? { medianTargetConfidence } : {}),
      targetConfidenceBySource,
      ...(inkMatchBySource ? { inkMatchBySource } : {}),
      surrogateDiversity: { ...diversity, ...(realWithinClass !== undefined ? { realWithinClass } : {}) },
      learningCurve: windowedCurve(recycle.history, ['loss', 'accuracy']) as { step: number; loss: number; accuracy: number }[],
      validation: recycle.validation,
      bestStep: recycle.best?.step ?? null,
      bestStepBySource: Object.fromEntries([...results].map(([variant, r]) => [variant, r.best?.step ?? null])),
      stepsBySource: Object.fromEntries([...results].map(([variant, r]) => [variant, r.steps])),
      logitScaleBySource: Object.fromEntries([...results].map(([variant, r]) => [variant, r.logitScale])),
      ...(knowledge ? { zooKnowledge: knowledge } : {}),
      ...(validationNn !== null
        ? {
            selectedValidation: {
              nn: validationNn,
              bySource: Object.fromEntries([...results].map(([variant, r]) => [variant, r.best?.accuracy ?? null])),
            },
          }
        : {}),
    },
    statements,
    notes,
  };
}
