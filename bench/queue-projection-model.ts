/**
 * The model of bench/queue-projection.ts: stages as phases of equal jobs (spread over N workers)
 * and serial work (the enqueuing process), their wall time on N machines, and the report.
 */
import * as fs from 'fs';
import * as path from 'path';

export const MACHINES = [1, 2, 4, 8, 16, 32];

/** What bench/queue-projection.ts measured (seconds unless named otherwise). */
export interface Measured {
  backend: string;
  workerStartSeconds: number;
  zooJobSeconds: number; // one pretune-lora job, full tiny settings, through the queue
  inversion: { steps: number[]; seconds: number[]; perStepSeconds: number; fixedSeconds: number };
  evaluation: {
    nn: { episodes: number; seconds: number };
    tuned: { method: string; episodes: number; tuningSteps: number; seconds: number };
  };
  overheadMsPerJob: number;
  noop: { jobs: number; queueSeconds: number; localSeconds: number };
}

/** `jobs` equal jobs of `seconds` each. */
interface JobGroup {
  label: string;
  jobs: number;
  seconds: number;
}

/** Jobs that may run at once (spread over the workers), then serial work. */
interface Phase {
  groups: JobGroup[];
  serialSeconds: number;
}

interface Stage {
  stage: string;
  phases: Phase[];
  note: string;
}

/**
 * Wall seconds of a phase on n workers, o seconds of queue overhead per job: one group of equal
 * jobs takes ceil(J / n) rounds of (t + o); groups of different jobs max(Σ J·(t + o) / n, t_max + o)
 * (a greedy schedule ends within one longest job of it); then the serial part.
 */
export function phaseWall(phase: Phase, n: number, o: number): number {
  const groups = phase.groups.filter((g) => g.jobs > 0);
  if (groups.length === 0) return phase.serialSeconds;
  if (groups.length === 1) return Math.ceil(groups[0].jobs / n) * (groups[0].seconds + o) + phase.serialSeconds;
  const work = groups.reduce((s, g) => s + g.jobs * (g.seconds + o), 0);
  const longest = Math.max(...groups.map((g) => g.seconds)) + o;
  return Math.max(work / n, longest) + phase.serialSeconds;
}

const stageWall = (stage: Stage, n: number, o: number) => stage.phases.reduce((s, p) => s + phaseWall(p, n, o), 0);
const jobCount = (stage: Stage) => stage.phases.reduce((s, p) => s + p.groups.reduce((t, g) => t + g.jobs, 0), 0);
const serialOf = (stage: Stage) => stage.phases.reduce((s, p) => s + p.serialSeconds, 0);

/** A stage's jobs in `parts` phases of a `parts`-th of each group, one after another: how `reproduce --redis` enqueues the evaluation, one set × shot block of Table 2/3 at a time. */
function inTurns(stage: Stage, parts: number): Stage {
  const phases = stage.phases.flatMap((p) =>
    Array.from({ length: parts }, () => ({
      groups: p.groups.map((g) => ({ ...g, jobs: g.jobs / parts })),
      serialSeconds: p.serialSeconds / parts,
    })),
  );
  return { ...stage, phases, note: `${stage.note}; ${parts} phases, one per combination` };
}

interface EstimateStage {
  stage: string;
  seconds: number;
  work: string;
  parts: { label: string; seconds: number }[];
}
interface Estimate {
  profile: string;
  totalSeconds: number;
  measuredOn: { startedAt: string; machine: { backend: string } };
  stages: EstimateStage[];
}
interface EngineRow {
  model: string;
  mode: string;
  batch: number;
  tfjsMs: number;
}
interface Engine {
  date: string;
  parts: { backend: { name: string }; rows: EngineRow[] }[];
}

const TUNING_FREE = ['nn', 'uniform-nn', 'lora-recycle'];
const BLOCK = { tuningFree: 50, tuned: 5 }; // episodes per evaluate-method job (src/reproduce/compare-as-jobs.ts)

function readConfig(name: string) {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'configs', `${name}.json`), 'utf8'));
}

/** ms per image of ViT-B/16 over the tiny ViT, forward and forward+backward (LoRA gradients), on `backend`'s rows. */
function vitB16Factors(engine: Engine, backend: string): { forward: number; train: number; backend: string } {
  const part = engine.parts.find((p) => p.backend.name === backend) ?? engine.parts.find((p) => p.backend.name === 'tensorflow')!;
  const perImage = (model: string, mode: string) => {
    const rows = part.rows.filter((r) => r.model === model && r.mode === mode).sort((a, b) => b.batch - a.batch);
    return rows[0].tfjsMs / rows[0].batch;
  };
  return {
    forward: perImage('vit-b16', 'forward') / perImage('tiny', 'forward'),
    train: perImage('vit-b16', 'fwdbwd_lora') / perImage('tiny', 'fwdbwd_lora'),
    backend: part.backend.name,
  };
}

/** The stages of the full tiny profile, the paper-scale profile, and what each number rests on. */
function models(measured: Measured, estimate: Estimate, engine: Engine) {
  const tiny = readConfig('tiny');
  const paper = readConfig('paper-scale');
  const stage = (name: string) => estimate.stages.find((s) => s.stage === name)!;
  const combos = tiny.evaluation.sets.length * tiny.evaluation.shots.length; // data sets × shot counts
  const episodesOf = (method: string, cfg: typeof tiny) =>
    TUNING_FREE.includes(method) ? cfg.evaluation.episodes : cfg.baselines.episodes;
  // the estimate's seconds per episode of each method (its 1- and 5-shot mean), on this machine
  const perEpisode = Object.fromEntries(stage('evaluation').parts.map((p) => [p.label, p.seconds / (combos * episodesOf(p.label, tiny))]));
  // measured block ÷ the estimate's block of the same method: the estimate's per-method costs, rescaled to what the jobs took here
  const calibration = {
    tuningFree: measured.evaluation.nn.seconds / (perEpisode.nn * measured.evaluation.nn.episodes),
    tuned: measured.evaluation.tuned.seconds / (perEpisode[measured.evaluation.tuned.method] * measured.evaluation.tuned.episodes),
  };
  const blockSeconds = (method: string) =>
    perEpisode[method] * (TUNING_FREE.includes(method) ? BLOCK.tuningFree * calibration.tuningFree : BLOCK.tuned * calibration.tuned);
  const inversionJob = (steps: number) => measured.inversion.fixedSeconds + steps * measured.inversion.perStepSeconds;
  const metaStep = stage('meta-training').parts.find((p) => p.label === 'training steps')!.seconds / tiny.metaTraining.steps;
  const pruning = /(\d+) rows × \((\d+) LoRAs × (\d+) inversion steps \+ (\d+) meta-training steps \+ (\d+) episodes\)/.exec(
    stage('pruning').work,
  );
  if (!pruning) throw new Error(`reports/full-estimate.json: cannot read the pruning stage's work "${stage('pruning').work}"`);
  const [rows, rowLoras, rowSteps, rowMeta, rowEpisodes] = pruning.slice(1).map(Number);

  const evaluationGroups = (cfg: typeof tiny, scale: (method: string) => number): JobGroup[] =>
    stage('evaluation').parts.map((p) => ({
      label: p.label,
      jobs: combos * Math.ceil(episodesOf(p.label, cfg) / (TUNING_FREE.includes(p.label) ? BLOCK.tuningFree : BLOCK.tuned)),
      seconds: blockSeconds(p.label) * scale(p.label),
    }));
  const full: Stage[] = [
    {
      stage: 'zoo',
      phases: [{ groups: [{ label: 'pretune-lora', jobs: tiny.zoo.size, seconds: measured.zooJobSeconds }], serialSeconds: 0 }],
      note: `${tiny.zoo.size} pretune-lora jobs of the measured ${measured.zooJobSeconds.toFixed(1)} s`,
    },
    {
      stage: 'inversion',
      phases: [{ groups: [{ label: 'invert-lora', jobs: tiny.zoo.size, seconds: inversionJob(tiny.inversion.steps) }], serialSeconds: 0 }],
      note: `${tiny.zoo.size} invert-lora jobs of ${inversionJob(tiny.inversion.steps).toFixed(1)} s (measured fixed cost + ${tiny.inversion.steps} × measured cost per step)`,
    },
    {
      stage: 'meta-training',
      phases: [{ groups: [], serialSeconds: stage('meta-training').seconds }],
      note: "serial (one training loop); the estimate's time",
    },
    {
      stage: 'evaluation',
      phases: [{ groups: evaluationGroups(tiny, () => 1), serialSeconds: 0 }],
      note: `evaluate-method jobs: ${BLOCK.tuningFree} episodes (tuning-free) or ${BLOCK.tuned} (tuned) each, ${combos} set × shot combinations; the estimate's per-method costs × the measured block ÷ the estimate's block (tuning-free ×${calibration.tuningFree.toFixed(2)}, tuned ×${calibration.tuned.toFixed(2)})`,
    },
    {
      stage: 'pruning',
      note: `${rows} rows one after another, each: ${rowLoras} invert-lora jobs (as above), ${rowMeta} meta-training steps (serial, the estimate's rate), ${rowEpisodes} lora-recycle episodes as blocks`,
      phases: Array.from({ length: rows }, () => [
        { groups: [{ label: 'invert-lora', jobs: rowLoras, seconds: inversionJob(rowSteps) }], serialSeconds: rowMeta * metaStep },
        {
          groups: [
            {
              label: 'lora-recycle',
              jobs: Math.ceil(rowEpisodes / BLOCK.tuningFree),
              seconds: blockSeconds('lora-recycle') * Math.min(1, rowEpisodes / BLOCK.tuningFree),
            },
          ],
          serialSeconds: 0,
        },
      ]).flat(),
    },
    { stage: 'fixed', phases: [{ groups: [], serialSeconds: stage('fixed').seconds }], note: 'backbone and diagnostics, serial' },
  ];
  // reproduce --redis today: zoo, inversions and evaluation (the pruning rows' too) as jobs, each Table 2/3 set × shot block's
  // jobs once the previous block's have ended (src/reproduce/evaluation-stage.ts); meta-training in the enqueuing process
  const today = full.map((s) => (s.stage === 'evaluation' ? inTurns(s, combos) : s));

  const f = vitB16Factors(engine, measured.backend);
  const paperTuned = paper.baselines.tuningSteps / tiny.baselines.tuningSteps;
  const validations = paper.metaTraining.steps / paper.metaTraining.validateEvery;
  const paperStages: Stage[] = [
    {
      stage: 'zoo',
      phases: [
        {
          groups: [
            { label: 'pretune-lora', jobs: paper.zoo.size, seconds: measured.zooJobSeconds * (paper.zoo.steps / tiny.zoo.steps) * f.train },
          ],
          serialSeconds: 0,
        },
      ],
      note: `${paper.zoo.size} jobs: measured tiny job × ${paper.zoo.steps}/${tiny.zoo.steps} steps × ViT-B/16 factor ${f.train.toFixed(0)}`,
    },
    {
      stage: 'inversion',
      phases: [
        {
          groups: [{ label: 'invert-lora', jobs: paper.zoo.size, seconds: inversionJob(paper.inversion.steps) * f.train }],
          serialSeconds: 0,
        },
      ],
      note: `${paper.zoo.size} jobs of ${paper.inversion.steps} steps: measured fixed + per-step cost × ViT-B/16 factor ${f.train.toFixed(0)}`,
    },
    {
      stage: 'meta-training',
      phases: [
        {
          groups: [],
          serialSeconds:
            paper.metaTraining.steps * metaStep * f.train +
            validations * paper.metaTraining.validationEpisodes * perEpisode['lora-recycle'] * calibration.tuningFree * f.forward,
        },
      ],
      note: `serial: ${paper.metaTraining.steps.toLocaleString('en')} steps at the tiny estimate's rate × ${f.train.toFixed(0)}, ${validations} validations × ${paper.metaTraining.validationEpisodes} episodes`,
    },
    {
      stage: 'evaluation',
      phases: [{ groups: evaluationGroups(paper, (m) => (TUNING_FREE.includes(m) ? f.forward : f.train * paperTuned)), serialSeconds: 0 }],
      note: `${stage('evaluation').parts.length} methods × ${combos} set × shot combinations × ${paper.evaluation.episodes} episodes (${(stage('evaluation').parts.length * combos * paper.evaluation.episodes).toLocaleString('en')} episodes); tuning-free blocks × ViT-B/16 forward factor ${f.forward.toFixed(0)}, tuned × ${f.train.toFixed(0)} × ${paper.baselines.tuningSteps}/${tiny.baselines.tuningSteps} tuning steps`,
    },
  ];
  return {
    full,
    today,
    paperStages,
    calibration,
    factors: f,
    paperConfig: {
      zoo: paper.zoo.size,
      zooSteps: paper.zoo.steps,
      inversionSteps: paper.inversion.steps,
      metaSteps: paper.metaTraining.steps,
      episodes: paper.evaluation.episodes,
      tunedEpisodes: paper.baselines.episodes,
      tuningSteps: paper.baselines.tuningSteps,
    },
  };
}

function table(stages: Stage[], o: number) {
  return MACHINES.map((n) => {
    const perStage = Object.fromEntries(stages.map((s) => [s.stage, stageWall(s, n, o)]));
    return { machines: n, seconds: Object.values(perStage).reduce((a, b) => a + b, 0), stages: perStage };
  });
}

const hours = (s: number) =>
  s >= 86_400 * 2 ? `${(s / 86_400).toFixed(1)} d` : s >= 3600 ? `${(s / 3600).toFixed(2)} h` : `${(s / 60).toFixed(1)} min`;

export function projectAll(
  measured: Measured,
  estimate: Estimate,
  engine: Engine,
  meta: { date: string; machine: Record<string, unknown> },
) {
  const o = measured.overheadMsPerJob / 1000;
  const m = models(measured, estimate, engine);
  const profiles = [
    { name: 'full tiny profile, every stage that can be jobs as jobs (evaluation as `evaluate --redis` runs it)', stages: m.full },
    {
      name: 'full tiny profile as `reproduce --redis` runs today (evaluation as jobs, one set × shot block after another; meta-training in the enqueuing process)',
      stages: m.today,
    },
    { name: 'paper scale (CLIP ViT-B/16, 224 px), assumed counts below; no Table 4/5 ablation', stages: m.paperStages },
  ].map((p) => ({
    name: p.name,
    stages: p.stages.map((s) => ({ stage: s.stage, jobs: jobCount(s), serialSeconds: serialOf(s), note: s.note })),
    projection: table(p.stages, o),
    serialSeconds: p.stages.reduce((a, s) => a + serialOf(s), 0),
  }));
  const formula = [
    'A stage is phases run one after another; a phase is jobs (spread over the N workers, one per machine) then serial work in the enqueuing process.',
    'Equal jobs: ceil(J / N) × (t + o). Jobs of different lengths: max(Σ J·(t + o) / N, t_max + o), a greedy schedule ending within one longest job of it (the critical path).',
    `o = ${measured.overheadMsPerJob.toFixed(1)} ms, the measured queue overhead per job. Serial parts (meta-training, the backbone) do not shrink with N (Amdahl): total(N) ≥ serial.`,
    'Worker start-up (measured below) happens once per machine before the run and is left out; data and backbone loading are in the measured job times.',
  ];
  const json = {
    date: meta.date,
    machine: meta.machine,
    measured,
    from: {
      estimate: `reports/full-estimate.json (${estimate.profile} profile from the quick run of ${estimate.measuredOn.startedAt}, ${estimate.measuredOn.machine.backend}; ${hours(estimate.totalSeconds)} on one machine)`,
      engine: `bench/results/engine.json (${engine.date})`,
    },
    calibration: m.calibration,
    vitB16Factors: m.factors,
    paperScaleAssumed: m.paperConfig,
    formula,
    profiles,
  };

  const lines = [
    '# Projection: the runs on N machines (queue of BullMQ jobs, one 2-core worker per machine)',
    '',
    `${meta.date}; measured on this machine: ${String(meta.machine.cpus)} CPUs (${String(meta.machine.cpu)}), Node ${String(meta.machine.node)}, backend ${measured.backend}; **shared** with a long experiment (load average 1 min during the bench: ${(meta.machine.load1min as number[]).join(', ')}).`,
    '',
    '## Measured here (small real runs through Redis and one worker process)',
    '',
    '| what | measured |',
    '|---|---|',
    `| zoo job (pretune-lora: 5-way 5-shot, 60 steps, tiny ViT) | ${measured.zooJobSeconds.toFixed(2)} s |`,
    `| inversion jobs (invert-lora: 5 × 16 images, prior) | ${measured.inversion.steps.map((s, i) => `${s} steps ${measured.inversion.seconds[i].toFixed(2)} s`).join(', ')} → ${measured.inversion.fixedSeconds.toFixed(2)} s + ${measured.inversion.perStepSeconds.toFixed(3)} s/step |`,
    `| evaluation block, tuning-free (evaluate-method nn, 5-way 1-shot 15-query) | ${measured.evaluation.nn.episodes} episodes ${measured.evaluation.nn.seconds.toFixed(2)} s |`,
    `| evaluation block, tuned (evaluate-method ${measured.evaluation.tuned.method}, ${measured.evaluation.tuned.tuningSteps} steps) | ${measured.evaluation.tuned.episodes} episodes ${measured.evaluation.tuned.seconds.toFixed(2)} s |`,
    `| queue overhead per job (${measured.noop.jobs} no-op jobs: queue ${measured.noop.queueSeconds.toFixed(2)} s vs this process ${measured.noop.localSeconds.toFixed(2)} s) | ${measured.overheadMsPerJob.toFixed(1)} ms |`,
    `| worker process start-up (not in the projection) | ${measured.workerStartSeconds.toFixed(1)} s |`,
    '',
    `Taken from committed files, not measured by this bench: ${json.from.estimate}; its stage work, per-method evaluation costs and meta-training rate. The ViT-B/16 ÷ tiny ViT cost per image from ${json.from.engine} (${m.factors.backend}): forward ×${m.factors.forward.toFixed(0)}, forward + backward ×${m.factors.train.toFixed(0)}.`,
    `Evaluation blocks: the estimate's cost per episode of each method × block size, rescaled by the measured block ÷ the estimate's block of the same kind (tuning-free ×${m.calibration.tuningFree.toFixed(2)}, tuned ×${m.calibration.tuned.toFixed(2)}; the measured blocks are 1-shot, the estimate's the mean of 1- and 5-shot).`,
    '',
    '## Formula',
    '',
    ...formula.map((f) => `- ${f}`),
    '',
    '## Projected wall time (not measured)',
    '',
  ];
  for (const p of profiles) {
    lines.push(`### ${p.name}`, '', `Serial part (does not parallelise): ${hours(p.serialSeconds)}.`, '');
    lines.push(
      `| N machines | total | speed-up | ${p.stages.map((s) => s.stage).join(' | ')} |`,
      `|---:|---:|---:|${p.stages.map(() => '---:').join('|')}|`,
    );
    for (const row of p.projection) {
      lines.push(
        `| ${row.machines} | ${hours(row.seconds)} | ${(p.projection[0].seconds / row.seconds).toFixed(1)}× | ${p.stages.map((s) => hours(row.stages[s.stage])).join(' | ')} |`,
      );
    }
    lines.push(
      '',
      '| stage | jobs | serial | how |',
      '|---|---:|---:|---|',
      ...p.stages.map((s) => `| ${s.stage} | ${s.jobs} | ${hours(s.serialSeconds)} | ${s.note} |`),
      '',
    );
  }
  const c = m.paperConfig;
  lines.push(
    '## Paper scale: the counts assumed',
    '',
    `From configs/paper-scale.json: ${c.zoo} LoRAs × ${c.zooSteps} pre-tuning steps; ${c.zoo} inversions × ${c.inversionSteps} steps; ${c.metaSteps.toLocaleString('en')} meta-training steps; ${c.episodes} episodes per set and shot count for every method (${c.tunedEpisodes} for tuned ones, ${c.tuningSteps} tuning steps); CLIP ViT-B/16 at 224 px on machines like this one (2 CPU cores, no GPU). Per-job costs are the tiny jobs measured here × the engine bench's ViT-B/16 factor; composition methods are taken to cost as in the tiny estimate. The meta-training (one loop, serial) dominates: jobs cannot shorten it, only a faster machine can.`,
    '',
  );
  return { json, markdown: `${lines.join('\n')}\n` };
}
