/** FLOP counts and the JSON / markdown report of the engine benchmark. */
import * as fs from 'fs';
import * as path from 'path';
import type { ViTConfig } from '../src/model/config';
import type { Mode } from './engine-timing';

/** Multiply-adds ×2 of one image's forward pass (LoRA products included, elementwise ops not). */
export function forwardFlopsPerImage(c: ViTConfig, rank: number): number {
  const patches = (c.imageSize / c.patchSize) ** 2;
  const t = patches + 1;
  const d = c.width;
  const patchEmbed = 2 * patches * c.patchSize ** 2 * c.channels * d;
  const perLayer = 2 * t * d * d * 4 + 2 * 2 * t * t * d + 2 * 2 * t * d * c.mlpWidth + 2 * 2 * (2 * t * d * rank);
  return patchEmbed + c.depth * perLayer + 2 * d * c.projectionDim;
}

/** forward+backward counts the forward pass and one data-gradient pass (2× forward). */
export function stepFlops(mode: Mode, batch: number, perImage: number): number {
  return (mode === 'forward' ? 1 : 2) * batch * perImage;
}

export interface Row {
  model: string;
  mode: Mode;
  batch: number;
  microBatch: number;
  tfjsMs: number;
  torchMs: number;
  flops: number;
  tfjsSamples: number[]; // every timed step, ms (medians above)
  torchSamples: number[];
}

export interface Report {
  date: string;
  cpu: string;
  /** os.loadavg() (1, 5, 15 min) when the run started and ended: the CPU is shared. */
  load: { start: number[]; end: number[] };
  tfjs: { version: string; backend: string; simd: boolean; threads: number; compiledKernels: boolean; fallbackReason?: string };
  torch: { version: string; threads: number; implementation: string };
  flopsNote: string;
  rows: (Row & { tfjsImagesPerS: number; torchImagesPerS: number; tfjsGflops: number; torchGflops: number; ratio: number })[];
  engineRatioFwdbwdB25: number;
}

export function withDerived(row: Row): Report['rows'][number] {
  return {
    ...row,
    tfjsImagesPerS: (1000 * row.batch) / row.tfjsMs,
    torchImagesPerS: (1000 * row.batch) / row.torchMs,
    tfjsGflops: row.flops / row.tfjsMs / 1e6,
    torchGflops: row.flops / row.torchMs / 1e6,
    ratio: row.tfjsMs / row.torchMs,
  };
}

export function markdown(report: Report): string {
  const lines = [
    `# Engine benchmark: tfjs-wasm vs PyTorch CPU (${report.date})`,
    '',
    `CPU: ${report.cpu}; load average (1/5/15 min) ${loadText(report.load.start)} at the start, ${loadText(report.load.end)} at the end. tfjs ${report.tfjs.version}, backend ${report.tfjs.backend}, SIMD ${report.tfjs.simd}, ` +
      `${report.tfjs.threads} thread(s)${report.tfjs.fallbackReason ? ` (threaded build unavailable: ${report.tfjs.fallbackReason})` : ''}, ` +
      `${report.tfjs.compiledKernels ? 'compiled kernels (src/ops/wasm: products, attention, LayerNorm, QuickGELU)' : 'stock kernels only'}. ` +
      `PyTorch ${report.torch.version}, ${report.torch.threads} thread(s): ${report.torch.implementation}.`,
    '',
    'Tiny config: 32×32 images, patch 4 → 65 tokens, width 192, depth 4, 3 heads, MLP 768, LoRA rank 4 on q, v.',
    'Modes: `forward` (features only); `fwdbwd_lora` (gradient w.r.t. the LoRA weights only); ' +
      '`fwdbwd_pixels` (gradient w.r.t. the input pixels only, model frozen).',
    report.flopsNote,
    'Micro-batch "–": the whole batch in one gradient call (batch 100 fits the 4 GiB wasm heap at this size). ' +
      'Times are medians of 9 steps per side, taken in alternating tfjs / PyTorch blocks on a CPU shared with other jobs.',
    '',
    '| tfjs model | mode | batch | micro-batch | tfjs ms/step | PyTorch ms/step | tfjs img/s | PyTorch img/s | tfjs GFLOP/s | PyTorch GFLOP/s | ratio tfjs/PyTorch |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...report.rows.map((r) =>
      `| ${r.model} | ${r.mode} | ${r.batch} | ${r.microBatch < r.batch ? r.microBatch : '–'} | ${r.tfjsMs.toFixed(0)} | ` +
      `${r.torchMs.toFixed(0)} | ${r.tfjsImagesPerS.toFixed(0)} | ${r.torchImagesPerS.toFixed(0)} | ` +
      `${r.tfjsGflops.toFixed(1)} | ${r.torchGflops.toFixed(1)} | ${r.ratio.toFixed(2)} |`),
    '',
    `engine_ratio_fwdbwd_b25 = ${report.engineRatioFwdbwdB25.toFixed(2)} (fwdbwd_lora, batch 25)`,
    '',
  ];
  return lines.join('\n');
}

function loadText(load: number[]): string {
  return load.map((x) => x.toFixed(1)).join(' / ');
}

/** Writes `text` to `file` atomically (temp file + rename). */
export function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}
