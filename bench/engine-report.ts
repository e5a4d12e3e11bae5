/** The JSON and markdown report of the engine benchmark (bench/engine.ts). */
import * as fs from 'fs';
import * as path from 'path';
import type { BackendPart, StepRow } from './engine-backend';

export interface EngineReport {
  date: string;
  cpu: string;
  /** os.loadavg() (1, 5, 15 min) when the run started and ended: the CPU is shared. */
  load: { start: number[]; end: number[] };
  parts: BackendPart[];
}

const MODELS: Record<string, string> = {
  tiny: 'tiny ViT (32×32, patch 4 → 65 tokens, width 192, depth 4, 3 heads, MLP 768)',
  'vit-b16': 'CLIP ViT-B/16 (224×224, patch 16 → 197 tokens, width 768, depth 12, 12 heads, MLP 3072)',
};

function backendText(part: BackendPart): string {
  const b = part.backend;
  const detail =
    b.tfjsName === 'wasm'
      ? `SIMD ${b.simd}, ${b.threads} thread(s), compiled kernels (src/ops/wasm)`
      : `TensorFlow ${b.tensorflowVersion ?? '?'} (PyPI wheel), ${b.gpu ? 'GPU' : 'CPU'}`;
  return `**${b.name}**: ${detail}; peak RSS ${part.peakRssMb.toFixed(0)} MiB (PyTorch ${part.torchPeakRssMb.toFixed(0)} MiB)`;
}

function rowText(backend: string, r: StepRow): string {
  const gflops = (ms: number) => (r.flops / ms / 1e6).toFixed(1);
  return (
    `| ${backend} | ${r.model} | ${r.mode} | ${r.batch} | ${r.tfjsMs.toFixed(0)} | ${r.torchMs.toFixed(0)} | ` +
    `${((1000 * r.batch) / r.tfjsMs).toFixed(0)} | ${gflops(r.tfjsMs)} | ${gflops(r.torchMs)} | ${(r.tfjsMs / r.torchMs).toFixed(2)} |`
  );
}

export function markdown(report: EngineReport): string {
  const load = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' / ');
  const torch = report.parts[0]?.torch;
  return [
    `# Engine benchmark: tfjs backends vs PyTorch CPU (${report.date})`,
    '',
    `CPU: ${report.cpu}; load average (1/5/15 min) ${load(report.load.start)} at the start, ${load(report.load.end)} at the end. ` +
      `PyTorch ${torch?.torch}, ${torch?.threads} thread(s): ${torch?.implementation}.`,
    '',
    ...report.parts.map((p) => `- ${backendText(p)}`),
    '',
    `Models: ${Object.values(MODELS).join('; ')}; LoRA rank 4 on q, v, random weights.`,
    'Modes: `forward` (features only); `fwdbwd_lora` (gradient w.r.t. the LoRA weights); `fwdbwd_pixels` (gradient w.r.t. the pixels, model frozen). ' +
      'GFLOP/s are effective (matrix products only; forward+backward counted as 2× forward). Times are medians over alternating blocks of ' +
      'tfjs and PyTorch steps, each backend in its own process, on a CPU shared with other jobs.',
    '',
    '| backend | model | mode | batch | tfjs ms/step | PyTorch ms/step | tfjs img/s | tfjs GFLOP/s | PyTorch GFLOP/s | ratio tfjs/PyTorch |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...report.parts.flatMap((p) => p.rows.map((r) => rowText(p.backend.name, r))),
    '',
    '## Per-op overhead and large products',
    '',
    'A chain of 400 dependent additions on a 16-vector (per-op cost, no arithmetic to speak of), and one 1024×1024 by 1024×1024 product.',
    '',
    '| backend | µs per small op | PyTorch µs per small op | matMul GFLOP/s | PyTorch matMul GFLOP/s |',
    '|---|---:|---:|---:|---:|',
    ...report.parts.map(
      (p) =>
        `| ${p.backend.name} | ${p.overhead.smallOpUs.toFixed(1)} | ${p.overhead.torchSmallOpUs.toFixed(1)} | ` +
        `${p.overhead.matmulGflops.toFixed(1)} | ${p.overhead.torchMatmulGflops.toFixed(1)} |`,
    ),
    ...report.parts.flatMap((p) => p.failures.map((f) => `\n${p.backend.name} could not run ${f.model}: ${f.reason}`)),
    '',
  ].join('\n');
}

/** Writes `text` to `file` atomically (temp file + rename). */
export function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}
