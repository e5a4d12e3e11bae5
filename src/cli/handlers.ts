import * as path from 'path';
import { ConfigError, MissingResourceError } from '../errors';
import { disposeLoraRecord, hfClipClassOf, loadLora, saveLoraFile, savePeftAdapter, type LoraRecord, type PeftSaveOptions } from '../io';
import { writeFileAtomic } from '../io/atomic-write';
import type { VisionTransformer } from '../model/vision-transformer';
import { createPorts } from '../reproduce/wiring';
import type { PipelinePorts } from '../reproduce/ports';
import { compareMethodsAsJobs } from '../reproduce/compare-as-jobs';
import type { JobRunner } from '../parallel/job-runner';
import { loadZoo, type Zoo } from '../zoo';
import { loadRunConfig, pruningSchedule, type RunConfig } from '../reproduce/config';
import { disposeSurrogateSets, readSurrogateSetsWithTeachers } from '../surrogate';
import { mainSets } from '../reproduce/main-set';
import { compareMethods, trainMetaLora } from '../reproduce/stages';
import { defaultConfigPath, reproduce } from '../reproduce/reproduce';
import { estimateRunTime } from '../reproduce/estimate';
import { formatDuration, writeEstimate } from '../reproduce/estimate-report';
import { profileFor } from '../reproduce/profiles';
import { readReproductionReport } from '../reproduce/report-file';
import { packageRoot } from '../paths/package-root';
import { TUNING_FREE_METHODS, METHOD_NAMES } from '../baselines';
import { formatPercent } from '../evaluation';
import type { Command, CommandContext, OptionValues } from './commands';
import { withOwned, type Own } from './with-owned';
import { datasetOption, datasetSetName, withDataset, withMainData, writeDataConfig } from './dataset-ports';
import { jobRunnerOption } from './job-runner-option';

function required(values: OptionValues, name: string, command: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${command}: --${name} is required`);
  return value;
}

function integer(values: OptionValues, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--${name} must be a positive integer, found "${String(raw)}"`);
  return n;
}

/** "3:0.5,2:0.25" → {3: 0.5, 2: 0.25}. */
export function parsePruning(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const match = /^(\d+):(0(?:\.\d+)?|\.\d+)$/.exec(part.trim());
    if (!match) throw new ConfigError(`--pruning expects layer:ratio pairs such as 3:0.5, found "${part}"`);
    out[match[1]] = Number(match[2]);
  }
  return out;
}

type PortsFactory = (options: PortOptions) => PipelinePorts;

/** What the ports are made with: --backend, and where their jobs run (jobRunnerOption; absent: the ports' default). */
type PortOptions = { backend?: string; runner?: JobRunner };

/**
 * The configuration of the command (with --backbone: that Hugging Face CLIP folder as its
 * backbone) and the pipeline ports (owned: their prior is freed at the end).
 */
function setUp(
  values: OptionValues,
  command: string,
  portsFor: PortsFactory,
  own: Own,
  context?: CommandContext,
): { config: RunConfig; ports: PipelinePorts } {
  const loaded = loadRunConfig(required(values, 'config', command));
  const config: RunConfig = typeof values.backbone === 'string' ? { ...loaded, backbone: { source: 'hf', path: values.backbone } } : loaded;
  return { config, ports: own(withDataset(portsFor(portOptions(values)), datasetOption(values), context)) };
}

/** PEFT's view of the backbone: the transformers class the meta-LoRA's module paths are for, and where it lies. */
function peftBase(config: RunConfig): PeftSaveOptions {
  const b = config.backbone;
  if (b.source !== 'hf') return { baseModel: 'CLIPVisionModelWithProjection' }; // as saveBackbone writes the others
  return { baseModel: hfClipClassOf(b.path), baseModelPath: path.resolve(b.path.endsWith('.safetensors') ? path.dirname(b.path) : b.path) };
}

/** --backend, and the job runner of --redis (jobs on the queues of that Redis, for `lora-recycle worker` processes), where given. */
function portOptions(values: OptionValues): PortOptions {
  return { backend: typeof values.backend === 'string' ? values.backend : undefined, runner: jobRunnerOption(values) };
}

/**
 * The zoo in `dir` as it is on disk (building and extending zoos is `zoo`'s job), with one line
 * when its size differs from the configuration's.
 */
function zooAsItIs(backbone: VisionTransformer, config: RunConfig, dir: string, command: string, context: CommandContext): Zoo {
  const zoo = loadZoo(dir, backbone);
  if (zoo.size !== config.zoo.size) {
    context.print(
      `${command}: using the ${zoo.size} LoRAs of zoo ${dir} (the configuration's zoo.size is ${config.zoo.size}; "lora-recycle zoo --size N" builds more)`,
    );
  }
  return zoo;
}

const zoo =
  (portsFor: PortsFactory): Command['run'] =>
  (values, context) =>
    withOwned(async (own) => {
      const { config, ports } = setUp(values, 'zoo', portsFor, own, context);
      const size = integer(values, 'size', config.zoo.size);
      const out = required(values, 'out', 'zoo');
      const backbone = own(await ports.loadBackbone(config));
      const built = own(await ports.zoo(backbone, { ...config, zoo: { ...config.zoo, size } }, out, context));
      context.print(`zoo: ${built.size} LoRAs in ${out}`);
    });

const invert =
  (portsFor: PortsFactory): Command['run'] =>
  (values, context) =>
    withOwned(async (own) => {
      const { config, ports } = setUp(values, 'invert', portsFor, own);
      const out = required(values, 'out', 'invert');
      const run = { ...config, inversion: { ...config.inversion, steps: integer(values, 'steps', config.inversion.steps) } };
      const pruning = typeof values.pruning === 'string' ? parsePruning(values.pruning) : run.inversion.pruning;
      const backbone = own(await ports.loadBackbone(run));
      const zooOnDisk = own(zooAsItIs(backbone, run, required(values, 'zoo', 'invert'), 'invert', context));
      const entries = zooOnDisk.entries.slice(0, integer(values, 'limit', zooOnDisk.size));
      // a stop throws CancelledError out of the inversions: the finished ones are written, the stopped one is not
      const sets = await ports.invert(backbone, zooOnDisk, entries, run, pruningSchedule(pruning), out, context);
      own({ dispose: () => disposeSurrogateSets(sets) });
      sets.forEach(({ record }, i) => {
        const dir = path.join(out, entries[i].id);
        const mean = record.targetConfidence.reduce((a, b) => a + b, 0) / record.targetConfidence.length;
        context.print(
          `invert: ${entries[i].id} -> ${dir} (target confidence ${mean.toFixed(3)}, ${record.iterationsPerSecond.toFixed(2)} it/s)`,
        );
      });
    });

const metaTrainCommand =
  (portsFor: PortsFactory): Command['run'] =>
  (values, context) =>
    withOwned(async (own) => {
      const { config, ports } = setUp(values, 'meta-train', portsFor, own, context);
      const out = required(values, 'out', 'meta-train');
      const surrogates = required(values, 'surrogates', 'meta-train');
      const backbone = own(await ports.loadBackbone(config));
      const zooOnDisk = own(zooAsItIs(backbone, config, required(values, 'zoo', 'meta-train'), 'meta-train', context));
      const inverted = readSurrogateSetsWithTeachers(surrogates, zooOnDisk.entries);
      own({ dispose: () => disposeSurrogateSets(inverted) });
      const ev = config.evaluation;
      const data = datasetOption(values);
      const validation = await ports.episodes(
        mainSets(data ? withMainData(config, data) : config).validation,
        { ways: ev.ways, shots: config.metaTraining.shots, queries: ev.queries },
        config.metaTraining.validationEpisodes,
        ev.seed + 1,
      );
      const { metaLora, result } = await trainMetaLora(backbone, inverted, config, validation, out, {
        ...context,
        steps: integer(values, 'steps', config.metaTraining.steps),
        resume: !values['no-resume'],
      });
      own(metaLora);
      const loraPath = path.join(out, 'meta-lora.safetensors');
      const record: LoraRecord = {
        parameters: metaLora.toParameters(),
        classIds: [],
        metadata: { kind: 'meta-lora', selected: result.best ? 'best' : 'last', best: result.best, steps: result.steps },
      };
      own({ dispose: () => disposeLoraRecord(record) });
      saveLoraFile(loraPath, record);
      const peftDir = path.join(out, 'meta-lora-peft');
      savePeftAdapter(peftDir, record, peftBase(config));
      writeFileAtomic(path.join(out, 'meta-train-metrics.json'), `${JSON.stringify(result, null, 2)}\n`);
      context.print(
        `meta-train: ${result.steps} steps, ${result.episodesPerSecond.toFixed(2)} episodes/s, best validation ${result.best ? `${(100 * result.best.accuracy).toFixed(2)} % at step ${result.best.step}` : 'n/a'} -> ${loraPath} (PEFT adapter: ${peftDir})`,
      );
    });

const evaluate =
  (portsFor: PortsFactory): Command['run'] =>
  (values, context) =>
    withOwned(async (own) => {
      const { config, ports } = setUp(values, 'evaluate', portsFor, own, context);
      const out = required(values, 'out', 'evaluate');
      const methods = typeof values.methods === 'string' ? values.methods.split(',') : ['nn'];
      const unknown = methods.find((m) => !(METHOD_NAMES as string[]).includes(m));
      if (unknown) throw new ConfigError(`--methods: unknown method "${unknown}"; expected some of ${METHOD_NAMES.join(', ')}`);
      const backbone = own(await ports.loadBackbone(config));
      const zooOnDisk = typeof values.zoo === 'string' ? own(zooAsItIs(backbone, config, values.zoo, 'evaluate', context)) : null;
      const meta = typeof values.meta === 'string' ? own(loadLora(values.meta, { config: backbone.config })) : null;
      const data = datasetOption(values);
      const set = typeof values.set === 'string' ? values.set : data ? datasetSetName(data) : mainSets(config).novel;
      const shots = integer(values, 'shots', config.evaluation.shots[0]);
      const episodes = integer(values, 'episodes', config.evaluation.episodes);
      const source = await ports.episodes(
        set,
        { ways: config.evaluation.ways, shots, queries: config.evaluation.queries },
        episodes,
        config.evaluation.seed,
      );
      if (!source) throw new MissingResourceError(`the data of set "${set}" is not installed`);
      // a remote runner's workers read the backbone, zoo, meta-LoRA and data themselves (a random backbone is saved beside `out`)
      const results = ports.runner.remote
        ? await compareMethodsAsJobs(
            ports.runner,
            {
              backbone,
              zoo: values.zoo as string | undefined,
              meta: values.meta as string | undefined,
              dir: path.dirname(path.resolve(out)),
            },
            methods,
            source,
            episodes,
            config,
            context,
            TUNING_FREE_METHODS,
          )
        : await compareMethods(
            { backbone, zoo: zooOnDisk?.entries.map((e) => e.parameters) ?? [], metaLora: meta },
            methods,
            source,
            episodes,
            config,
            context,
            TUNING_FREE_METHODS,
          );
      writeFileAtomic(
        out,
        `${JSON.stringify({ set, ways: config.evaluation.ways, shots, queries: config.evaluation.queries, results }, null, 2)}\n`,
      );
      for (const r of results) context.print(`${r.method}: ${formatPercent(r)} % over ${r.n} episodes`);
    });

/**
 * A worker process for the queues (src/queue): runs jobs until the signal (Ctrl+C) or SIGTERM,
 * then takes no more, lets the running ones finish and exits.
 */
const workerCommand: Command['run'] = async (values, context) => {
  const { startQueueWorker } = await import('../queue');
  const { parseRequest } = await import('../backend/select');
  const worker = await startQueueWorker({
    redis: required(values, 'redis', 'worker'),
    concurrency: integer(values, 'concurrency', 1),
    backend: typeof values.backend === 'string' ? parseRequest(values.backend, '--backend') : undefined,
    lockMs: integer(values, 'lock-ms', 30_000),
    stalledMs: integer(values, 'stalled-ms', 30_000),
    log: (line) => context.print(`worker ${process.pid}: ${line}`),
  });
  context.print(`worker ${process.pid}: ready on ${worker.backend.name}, taking jobs from ${String(values.redis)}`);
  await new Promise<void>((resolve) => {
    if (context.signal?.aborted) resolve();
    context.signal?.addEventListener('abort', () => resolve(), { once: true });
    process.once('SIGTERM', () => resolve());
  });
  context.print(`worker ${process.pid}: finishing the running jobs`);
  await worker.close();
};

/** Removes ended jobs of the project's queues and prints, per queue, what went and what is left. */
const queueCleanCommand: Command['run'] = async (values, context) => {
  const { cleanQueues } = await import('../queue');
  const raw = values['older-than'];
  const hours = raw === undefined ? 0 : Number(raw);
  if (typeof raw === 'string' && (raw.trim() === '' || !(hours >= 0)))
    throw new ConfigError(`--older-than expects a number of hours ≥ 0, found "${raw}"`);
  const reports = await cleanQueues({
    redis: required(values, 'redis', 'queue-clean'),
    olderThanHours: hours,
    failed: Boolean(values.failed),
    all: Boolean(values.all),
  });
  for (const { queue, removed, left } of reports) {
    const other = removed.other > 0 ? `, ${removed.other} waiting` : '';
    context.print(
      `queue-clean: ${queue}: removed ${removed.completed} finished, ${removed.failed} failed${other} (left: ${left.waiting + left.delayed} waiting, ${left.active} running, ${left.completed} finished, ${left.failed} failed)`,
    );
  }
};

/** The run time of `profile` estimated from a quick report's rates; runs nothing of the pipeline. */
function estimateCommand(profile: string, values: OptionValues, context: CommandContext): void {
  const tiny = loadRunConfig(path.join(packageRoot(), 'configs', 'tiny.json'));
  const target = loadRunConfig(typeof values.config === 'string' ? values.config : defaultConfigPath(profile));
  const from = typeof values.from === 'string' ? values.from : path.join('reports', 'quick.json');
  const measured = estimateRunTime(readReproductionReport(from), profileFor('quick', tiny), profileFor(profile, target));
  const estimate = { ...measured, measuredOn: { ...measured.measuredOn, file: from } };
  const written = writeEstimate(typeof values.out === 'string' ? values.out : 'reports', estimate);
  context.print(
    `estimate: ${profile} profile ≈ ${formatDuration(estimate.totalSeconds)} (${estimate.totalSeconds.toFixed(0)} s; at least ${formatDuration(estimate.lowerBoundSeconds)}) on the machine of ${from} -> ${written.json}, ${written.markdown}`,
  );
  estimate.stages.forEach((s) => context.print(`  ${s.stage}: ${formatDuration(s.seconds)}`));
}

const reproduceCommand =
  (portsFor: PortsFactory): Command['run'] =>
  async (values, context: CommandContext) => {
    const profile = typeof values.profile === 'string' ? values.profile : 'quick';
    if (values.estimate) return estimateCommand(profile, values, context);
    const outDir = typeof values.out === 'string' ? values.out : 'reports';
    const data = datasetOption(values);
    const configPath = typeof values.config === 'string' ? values.config : undefined;
    const report = await withOwned(async (own) =>
      reproduce(profile, own(withDataset(portsFor(portOptions(values)), data, context)), {
        outDir,
        workDir: typeof values.work === 'string' ? values.work : undefined,
        // --data: the configuration with that data set as its main domain, written beside the reports
        configPath: data
          ? writeDataConfig(loadRunConfig(configPath ?? path.join(packageRoot(), 'configs', 'tiny.json')), data, outDir)
          : configPath,
        onEvent: context.onEvent,
        signal: context.signal,
      }),
    );
    context.print(`reproduce: ${report.profile} profile in ${report.seconds.toFixed(0)} s`);
    report.statements.forEach((s) => context.print(`  ${s}`));
  };

/** The subcommands on the pipeline ports `portsFor` makes (tests pass fakes). */
export function makeHandlers(portsFor: PortsFactory = createPorts): Record<string, Command['run']> {
  return {
    zoo: zoo(portsFor),
    invert: invert(portsFor),
    'meta-train': metaTrainCommand(portsFor),
    evaluate: evaluate(portsFor),
    reproduce: reproduceCommand(portsFor),
    worker: workerCommand,
    'queue-clean': queueCleanCommand,
  };
}

export const HANDLERS = makeHandlers();
