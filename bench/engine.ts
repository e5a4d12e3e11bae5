/**
 * Engine benchmark: the library's ViT with LoRA on every installed tfjs backend (wasm, and the
 * native tensorflow one where set-up built it) against PyTorch CPU, in one run. Each backend runs
 * in its own process (bench/engine-backend.ts), interleaved with PyTorch steps.
 * Writes bench/results/engine.{json,md} and assets/backend/speeds.json, the measurements
 * selectBackend('auto') goes by. Last printed line: `engine_ratio_fwdbwd_b25=<best backend's ratio>`.
 *   npm run bench:engine [-- --backends wasm,tensorflow --models tiny,vit-b16 --reps 3]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { commandLine } from '../scripts/command-line';
import { assetPath } from '../src/paths';
import { MEASURED_SPEEDS_ASSET, type MeasuredSpeeds } from '../src/backend/measured-speeds';
import { packageInstalled } from '../src/backend/select';
import type { BackendPart } from './engine-backend';
import { markdown, writeAtomic, type EngineReport } from './engine-report';

/** Runs one backend's part in a child process and reads its result. */
function runPart(backend: string, models: string, reps: string): BackendPart {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-recycle-engine-'));
  try {
    const out = path.join(dir, 'part.json');
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(__dirname, 'engine-backend.ts'),
        '--backend',
        backend,
        '--models',
        models,
        '--reps',
        reps,
        '--out',
        out,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } },
    );
    if (child.status !== 0 || !fs.existsSync(out)) throw new Error(`the ${backend} part of the benchmark failed (exit ${child.status})`);
    return JSON.parse(fs.readFileSync(out, 'utf8'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The measurements selectBackend('auto') uses: per workload, each backend's and PyTorch's step time. */
function speedsOf(report: EngineReport): MeasuredSpeeds {
  const workloads = new Map<string, MeasuredSpeeds['workloads'][number]>();
  for (const part of report.parts) {
    for (const row of part.rows) {
      const key = `${row.model}/${row.mode}/${row.batch}`;
      const entry = workloads.get(key) ?? { model: row.model, mode: row.mode, batch: row.batch, flopsPerStep: row.flops, ms: {} };
      entry.ms[part.backend.tfjsName as 'wasm' | 'tensorflow'] = Math.round(row.tfjsMs);
      entry.ms.pytorch = Math.round(Math.min(entry.ms.pytorch ?? Infinity, row.torchMs));
      workloads.set(key, entry);
    }
  }
  return { measured: report.date, source: 'bench/results/engine.md', workloads: [...workloads.values()] };
}

function main(): void {
  const { values } = commandLine({ backends: undefined, models: 'tiny,vit-b16', reps: '3' });
  const backends = values.backends?.split(',') ?? ['wasm', ...(packageInstalled('@tensorflow/tfjs-node') ? ['tensorflow'] : [])];
  const loadAtStart = os.loadavg();
  const parts = backends.map((backend) => runPart(backend, values.models, values.reps));
  const report: EngineReport = {
    date: new Date().toISOString(),
    cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'} (shared)`,
    load: { start: loadAtStart, end: os.loadavg() },
    parts,
  };
  const dir = path.join(__dirname, 'results');
  writeAtomic(path.join(dir, 'engine.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(report);
  writeAtomic(path.join(dir, 'engine.md'), md);
  if (backends.includes('wasm') && backends.includes('tensorflow')) {
    writeAtomic(assetPath(...MEASURED_SPEEDS_ASSET), `${JSON.stringify(speedsOf(report), null, 2)}\n`);
  }
  console.log(md);
  const ratios = parts.flatMap((p) =>
    p.rows.filter((r) => r.model === 'tiny' && r.mode === 'fwdbwd_lora' && r.batch === 25).map((r) => r.tfjsMs / r.torchMs),
  );
  console.log(`engine_ratio_fwdbwd_b25=${Math.min(...ratios).toFixed(3)}`);
}

main();
