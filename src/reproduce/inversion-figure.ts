import { encodePng } from '../display';
import { writeFileAtomic } from '../io/atomic-write';
import type { ZooEntry } from '../zoo';
import type { AblationVariant } from './ablation';
import type { RecordedSurrogateSet } from '../surrogate/set';

/** Rows of each LoRA's block, top to bottom, when the run has them. */
export const FIGURE_ROWS: readonly { variant: AblationVariant; label: string; masked: boolean }[] = [
  { variant: 'oracle', label: 'real images of the class', masked: false },
  { variant: 'noise', label: 'random start (noise)', masked: false },
  { variant: 'lora-recycle', label: 'inverted', masked: false },
  { variant: 'lora-recycle-pruned', label: 'inverted with pruning, masked', masked: true },
];

const SCALE = 2; // pixels per image pixel
const GAP = 4; // white pixels between images
const BLOCK_GAP = 12; // between LoRAs

/**
 * One RGB picture of what inversion makes: for each of the first `loras` zoo LoRAs a block with one
 * column per class of its task and one row per image source of FIGURE_ROWS (the first image of
 * that class in each), each image scaled ×2. Returns the row labels used, for the report's caption.
 */
export function inversionFigure(
  zoo: readonly ZooEntry[],
  images: ReadonlyMap<AblationVariant, { images: RecordedSurrogateSet[] }>,
  loras: number,
): { png: Buffer; rows: string[]; loras: string[] } {
  const rows = FIGURE_ROWS.filter((r) => images.has(r.variant));
  const count = Math.min(loras, zoo.length);
  const sample = images.get(rows[0].variant)!.images[0];
  const [, h, w, c] = sample.pixels.shape;
  const ways = Math.max(...zoo.slice(0, count).map((z) => z.classIds.length));
  const cell = { w: w * SCALE + GAP, h: h * SCALE + GAP };
  const width = ways * cell.w + GAP;
  const height = count * rows.length * cell.h + (count - 1) * BLOCK_GAP + GAP;
  const canvas = new Uint8Array(width * height * 3).fill(255);
  for (let l = 0; l < count; l++) {
    rows.forEach((row, r) => {
      const inverted = images.get(row.variant)!.images[l];
      const pixels = inverted.pixels.dataSync() as Float32Array;
      const masks = row.masked && inverted.masks ? (inverted.masks.dataSync() as Float32Array) : null;
      for (let k = 0; k < zoo[l].classIds.length; k++) {
        const index = inverted.targets.indexOf(k);
        if (index < 0) continue;
        const top = GAP + (l * rows.length + r) * cell.h + l * BLOCK_GAP;
        const left = GAP + k * cell.w;
        for (let y = 0; y < h * SCALE; y++) {
          for (let x = 0; x < w * SCALE; x++) {
            const py = Math.floor(y / SCALE);
            const px = Math.floor(x / SCALE);
            const keep = masks ? masks[(index * h + py) * w + px] : 1;
            for (let ch = 0; ch < 3; ch++) {
              const value = pixels[((index * h + py) * w + px) * c + Math.min(ch, c - 1)] * keep;
              canvas[((top + y) * width + left + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(value * 255)));
            }
          }
        }
      }
    });
  }
  return { png: encodePng(canvas, width, height, 3), rows: rows.map((r) => r.label), loras: zoo.slice(0, count).map((z) => z.id) };
}

/** Writes inversionFigure atomically when `write`; returns its caption (or null when nothing was written). */
export function writeInversionFigure(
  file: string,
  zoo: readonly ZooEntry[],
  images: ReadonlyMap<AblationVariant, { images: RecordedSurrogateSet[] }>,
  loras: number,
  write: boolean,
): string | null {
  if (!write || zoo.length === 0) return null;
  const figure = inversionFigure(zoo, images, loras);
  writeFileAtomic(file, figure.png);
  return `For LoRAs ${figure.loras.join(', ')} (one block each, one column per class of its task), rows: ${figure.rows.join('; ')}.`;
}
