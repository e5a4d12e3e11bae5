import * as path from 'path';
import { writeFileAtomic } from '../io/atomic-write';
import { withTemporaryDir } from '../io/temp-dir';
import { packageRoot } from '../paths/package-root';
import type { RunControl } from '../progress/events';
import { recordedTuningSeconds } from '../zoo/zoo-entry';
import { metaLoraFile } from './artifacts';
import { assembleReport } from './assemble-report';
import { evaluationBlocksStage, pruningStage } from './comparison-stages';
import { loadRunConfig, type RunConfig } from './config';
import { evaluationStage } from './evaluation-stage';
import { mainSpec } from './main-set';
import type { PipelinePorts } from './ports';
import { profileFor } from './profiles';
import { renderMarkdown, type ReproductionReport } from './report';
import { reportJson } from './report-file';
import {
  ablationStage,
  artifactsStage,
  diagnosticsStage,
  inversionStage,
  metaTrainingStage,
  zooStage,
  type PipelineRun,
} from './run-stages';
import { StageClock } from './stage-clock';
import { cpuUseBetween, sampleCpu } from './cpu-use';
import { readContrast } from './contrast';

/**
 * Each profile's configuration when none is given (configs/<file>) and its main domain: the
 * quick profile (CI) on emoji, whose data build fastest; the standard profile, the project's
 * measured report, in domain B (docs/method.md §0), where the paper's condition holds.
 */
export const PROFILE_DEFAULTS: Record<'quick' | 'standard' | 'full', { config: string; domain: string }> = {
  quick: { config: 'tiny.json', domain: 'emoji' },
  standard: { config: 'glyph-domain.json', domain: 'glyph-domain' },
  full: { config: 'tiny.json', domain: 'emoji' },
};

/** The configuration file a profile runs on when none is given. */
export function defaultConfigPath(profileName: string): string {
  const defaults = PROFILE_DEFAULTS[profileName as keyof typeof PROFILE_DEFAULTS] ?? PROFILE_DEFAULTS.quick;
  return path.join(packageRoot(), 'configs', defaults.config);
}

/**
 * The file name of a report: the profile's own name in the profile's default domain (quick,
 * standard), "<profile>-<main domain>" in another (standard-emoji, quick-glyph-domain).
 */
export function reportName(profileName: string, config: RunConfig): string {
  const domain = mainSpec(config).loader;
  const defaults = PROFILE_DEFAULTS[profileName as keyof typeof PROFILE_DEFAULTS];
  return domain === (defaults?.domain ?? 'emoji') ? profileName : `${profileName}-${domain}`;
}

export interface ReproduceOptions extends RunControl {
  outDir?: string; // default 'reports'
  /**
   * Zoo, surrogates, meta-LoRAs, checkpoints. Default <outDir>/<profile>-run, kept for reuse and
   * resumes; with write: false, a temporary directory removed at the end.
   */
  workDir?: string;
  configPath?: string; // default the profile's (defaultConfigPath)
  /** Writes nothing when false (tests). */
  write?: boolean;
}

/**
 * The Table 2/3 analogue (novel emoji + cross-domain, every method, 1- and 5-shot) and the
 * Table 4/5 analogue (pruning ratios and layers: accuracy, inversion and meta-training
 * throughput, tokens kept), with diagnostics, to reports/<profile>.json and .md. The stages run
 * in turn, each resuming from what it kept in the run folder: zoo, inversion, meta-training,
 * ablation, diagnostics, artifacts, evaluation, pruning; the report is assembled from their outputs.
 */
export async function reproduce(profileName: string, ports: PipelinePorts, options: ReproduceOptions = {}): Promise<ReproductionReport> {
  const outDir = options.outDir ?? 'reports';
  const write = options.write ?? true;
  const base = loadRunConfig(options.configPath ?? defaultConfigPath(profileName));
  const name = reportName(profileName, base);
  if (options.workDir === undefined) {
    if (write) return reproduce(profileName, ports, { ...options, workDir: path.join(outDir, `${name}-run`) });
    return withTemporaryDir(`lora-recycle-${profileName}-`, (workDir) => reproduce(profileName, ports, { ...options, workDir }));
  }
  const startedAt = Date.now();
  const cpuAtStart = sampleCpu();
  const contrast = readContrast(base.contrast ?? []); // now, so a missing file stops the run before its stages
  const profile = profileFor(profileName, base);
  const workDir = options.workDir;
  const clock = new StageClock();
  const run: PipelineRun = {
    ports,
    profile,
    config: profile.config,
    workDir,
    control: { onEvent: options.onEvent, signal: options.signal },
    notes: [],
    phase: (stage, message) => {
      clock.start(stage);
      options.onEvent?.({ kind: 'phase', run: 'reproduce', phase: stage, message });
    },
  };

  const { backbone, zoo } = await zooStage(run);
  const inverted = await inversionStage(run, backbone, zoo);
  const { validation, recycle } = await metaTrainingStage(run, backbone, inverted);
  const { variants, ablationPruning } = await ablationStage(run, backbone, zoo, recycle, validation);
  const diagnostics = await diagnosticsStage(run, backbone, zoo, variants, validation);
  const figureFile = `${name}-inversions.png`;
  const { artifacts, figureCaption } = artifactsStage(run, zoo, variants, { outDir, file: figureFile, write });
  // in this process, or (a remote ports.runner) as jobs reading the zoo and saved meta-LoRAs under workDir
  const comparisons = evaluationStage(
    { backbone, zoo: zoo.entries.map((z) => z.parameters), metaLora: recycle.lora },
    { zoo: zoo.directory ?? undefined, meta: metaLoraFile(workDir, 'lora-recycle') },
    run.config,
    workDir,
    ports.runner,
    run.control,
  );
  const { table23, ablation, realWithinClass } = await evaluationBlocksStage(run, backbone, zoo, variants, comparisons);
  const table45 = await pruningStage(
    run,
    backbone,
    zoo,
    { variants, ablationPruning, inversionStats: diagnostics.inversionStats },
    table23,
    comparisons,
  );
  clock.stop();

  const report = assembleReport({
    profile,
    base,
    name,
    configPath: options.configPath,
    startedAt,
    stageSeconds: clock.seconds(),
    cpu: cpuUseBetween(cpuAtStart, sampleCpu()),
    zooTuningSeconds: recordedTuningSeconds(zoo.entries),
    depth: backbone.config.depth,
    zooSize: zoo.entries.length,
    workDir,
    artifacts,
    figure: { file: figureFile, caption: figureCaption },
    diagnostics,
    realWithinClass,
    results: new Map([...variants].map(([variant, v]) => [variant, v.result])),
    table23,
    table45,
    ablation,
    notes: run.notes,
    contrast,
  });
  for (const v of variants.values()) v.lora.dispose();
  zoo.dispose();
  backbone.dispose();
  if (write) {
    writeFileAtomic(path.join(outDir, `${name}.json`), reportJson(report));
    writeFileAtomic(path.join(outDir, `${name}.md`), renderMarkdown(report));
  }
  return report;
}
