/**
 * Cells of the browser benchmark notebook: a gallery of 100 images × 20 snapshots built once,
 * displayed in a cell of its own, and a curves output updated many times with growing series.
 */
import { notebook } from '../test/browser/jupyter-server';

export const GALLERY_IMAGES = 100; // 10 classes × 10 samples
export const GALLERY_SNAPSHOTS = 20;
export const CURVE_UPDATES = 40;
export const CURVE_POINTS_PER_UPDATE = 50; // per series; 6 series (3 metrics × train/validation)

const BUILD = `import { asDisplay, galleryBundle, curvesBundle, imagesToPngDataUrls } from "../../../dist/display";
const t0 = Date.now();
const N = ${GALLERY_IMAGES}, S = ${GALLERY_SNAPSHOTS}, SIZE = 32;
const snapshots = Array.from({ length: S }, (_, s) => {
  const px = new Float32Array(N * SIZE * SIZE * 3);
  for (let i = 0; i < px.length; i++) px[i] = (Math.sin(i * 0.013 + s * 0.7 + Math.floor(i / 3072)) + 1) / 2;
  const urls = imagesToPngDataUrls(px, N, SIZE, SIZE, 3);
  return { step: s * 10, images: urls.map((src, i) => ({ classIndex: i % 10, sample: Math.floor(i / 10), src, confidence: s / S, mask: Array.from({ length: 64 }, (_, j) => (j + i + s) % 4 ? 1 : 0) })) };
});
const bundle = galleryBundle({ title: "bench", classes: Array.from({ length: 10 }, (_, c) => "class " + c), patchGrid: { rows: 8, cols: 8 }, snapshots });
console.log(JSON.stringify({ buildMs: Date.now() - t0, payloadBytes: JSON.stringify(bundle).length }));`;

const SHOW = `jupyter.display(asDisplay(bundle));`;

const CURVES = `const handle = jupyter.newDisplay();
const series = ["loss", "accuracy", "lr"].flatMap((metric) => (["train", "validation"] as const).map((split) => ({ metric, split, x: [] as number[], y: [] as number[] })));
for (let u = 0; u < ${CURVE_UPDATES}; u++) {
  for (const s of series) for (let k = 0; k < ${CURVE_POINTS_PER_UPDATE}; k++) { const x = s.x.length + 1; s.x.push(x); s.y.push(Math.exp(-x / 500) + (s.split === "validation" ? 0.05 : 0)); }
  const b = asDisplay(curvesBundle({ run: "bench", running: true, stoppable: true, series }));
  if (u === 0) handle.display(b); else handle.update(b);
  await new Promise((r) => setTimeout(r, 300)); // longer than the renderer's throttle: every update is drawn
}
"done"`;

export const benchNotebook = () => notebook([BUILD, SHOW, CURVES]);
