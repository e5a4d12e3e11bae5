/**
 * The notebook the browser tests run: every renderer from the library's bundle builders, a
 * malformed and a script-bearing payload, and a live meta-training-like loop that checks
 * `jupyter.signal` (stopped from the curves' Stop button).
 */
import { notebook } from './jupyter-server';

/**
 * The test root is PROJECT_ROOT/.cache/browser/<dir>: the library's build is three levels up.
 * (`lora-recycle/display` would be nicer, but the kernel maps it to the project root, not dist/.)
 */
export const SETUP = `import { MIME, asDisplay, galleryBundle, pruningBundle, episodeBundle, zooBundle, imagesToPngDataUrls, LiveCurves } from "../../../dist/display";
/** n RGB images size×size, a smooth colour pattern per (image, seed) */
function pattern(n: number, size: number, seed: number): string[] {
  const px = new Float32Array(n * size * size * 3);
  for (let i = 0; i < n; i++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++)
    px[((i * size + y) * size + x) * 3 + c] = (Math.sin((x + 1) * (c + 1) * 0.3 + i + seed) * Math.cos((y + 1) * 0.2 * (seed + 1)) + 1) / 2;
  return imagesToPngDataUrls(px, n, size, size, 3);
}
const grid = { rows: 4, cols: 4 };
const maskOf = (k: number) => Array.from({ length: 16 }, (_, j) => ((j + k) % 3 === 0 ? 0 : 1));
"ready"`;

export const GALLERY = `const snapshots = [0, 50, 100].map((step, s) => ({
  step,
  images: pattern(6, 32, s * 7).map((src, i) => ({ classIndex: i % 3, sample: Math.floor(i / 3), src, confidence: 0.3 + 0.3 * s, mask: maskOf(i + s) })),
}));
asDisplay(galleryBundle({ title: "inverted images", classes: ["cat", "dog", "owl"], patchGrid: grid, snapshots }))`;

export const PRUNING = `asDisplay(pruningBundle({
  patchGrid: grid,
  images: pattern(2, 32, 3).map((src, i) => ({ src, label: "image " + i, layers: [{ layer: 1, kept: maskOf(i) }, { layer: 3, kept: maskOf(i).map((v, j) => (j % 2 ? 0 : v)) }] })),
}))`;

export const EPISODE = `const e = pattern(8, 32, 11);
asDisplay(episodeBundle({
  classes: ["cat", "dog"],
  support: e.slice(0, 4).map((src, i) => ({ src, label: i % 2 })),
  query: e.slice(4).map((src, i) => ({ src, label: i % 2, prediction: i === 3 ? 0 : i % 2, confidence: 0.8 })),
}))`;

export const ZOO = `asDisplay(zooBundle({
  title: "zoo <script>window.__xss = 1</script>",
  backbone: "tiny-vit",
  loras: [
    { id: "lora-000", classes: ["cat", "dog"], rank: 4, targets: ["q", "v"], record: { steps: 100, loss: 0.12, accuracy: 0.97 } },
    { id: "<img src=x onerror=window.__xss=2>", classes: ["owl", "fox"], rank: 4 },
  ],
}))`;

export const MALFORMED = `jupyter.display({ [MIME.gallery]: { version: 1, classes: ["a"], snapshots: [{ step: 0, images: [{ classIndex: 0, sample: 0, src: "javascript:window.__xss=3" }] }] }, "text/plain": "bad gallery" }, { raw: true });
jupyter.display({ [MIME.episode]: { version: 1, classes: ["<script>window.__xss=4</script>"], support: [{ src: "data:text/html;base64,PHNjcmlwdD4=", label: 0 }], query: [] }, "text/plain": "bad episode" }, { raw: true });
jupyter.display({ [MIME.curves]: { version: 2, series: [] }, "text/plain": "bad curves" }, { raw: true });`;

/** Markup in the title and a metric name must show as text in the Plotly chart. */
export const CURVES_TITLE = 'meta-training <b>bold</b> <a href="javascript:window.__xss=5">link</a> <img src=x onerror=window.__xss=6>';
export const CURVES_METRIC = '<b>accuracy</b>';

export const LIVE_LOOP = `const curves = new LiveCurves({ title: ${JSON.stringify(CURVES_TITLE)}, run: "browser-test", throttleMs: 100 });
let step = 0;
while (!jupyter.signal.aborted && step < 1200) {
  step++;
  const val = step % 10 === 0 ? { val_loss: 2.2 / Math.sqrt(step), ${JSON.stringify(`val_${CURVES_METRIC}`)}: 0.9 - 0.9 / Math.sqrt(step) } : {};
  curves.addMetrics(step, { loss: 2 / Math.sqrt(step), ${JSON.stringify(CURVES_METRIC)}: 1 - 1 / Math.sqrt(step), lr: 1e-3 * Math.min(1, step / 20), ...val });
  await new Promise((r) => setTimeout(r, 25));
}
curves.finish();
console.log("loop ended at step " + step + ", aborted=" + jupyter.signal.aborted);`;

export const CELLS = [SETUP, GALLERY, PRUNING, EPISODE, ZOO, MALFORMED, LIVE_LOOP];

export const testNotebook = () => notebook(CELLS);
