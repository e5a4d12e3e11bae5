/** Small valid payload inputs and PNG data URLs for the display tests. */
import { imagesToPngDataUrls } from '../../src/display';

export function pngs(n: number, size = 4, seed = 0): string[] {
  const px = new Float32Array(n * size * size * 3).map((_, i) => ((i * 7 + seed * 13) % 17) / 16);
  return imagesToPngDataUrls(px, n, size, size, 3);
}

export const GRID = { rows: 2, cols: 2 };

export function galleryInput(snapshots = 2) {
  return {
    title: 'g',
    classes: ['cat', 'dog'],
    patchGrid: GRID,
    snapshots: Array.from({ length: snapshots }, (_, s) => ({
      step: s * 10,
      images: pngs(4, 4, s).map((src, i) => ({ classIndex: i % 2, sample: Math.floor(i / 2), src, confidence: 0.5, mask: [1, 0, 1, 1] })),
    })),
  };
}

export function curvesInput() {
  return {
    run: 'r1',
    series: [
      { metric: 'loss', split: 'train' as const, x: [1, 2, 3], y: [1, 0.5, 0.25] },
      { metric: 'loss', split: 'validation' as const, x: [3], y: [0.4] },
      { metric: 'lr', split: 'train' as const, x: [1, 2, 3], y: [1e-4, 1e-3, 1e-3] },
    ],
  };
}
