/**
 * Static SVG fallbacks for the image payloads (gallery, pruning, episode, zoo): what classic
 * Notebook, VS Code, GitHub and nbconvert show without the extension. Images are embedded as
 * <image> elements with their PNG data URLs; every text goes through `escapeXml`.
 */
import type { EpisodePayload, EpisodeQueryImage, GalleryPayload, PatchGrid, PruningPayload, ZooPayload } from './payloads';
import { queryScores } from './episode-caption';

export const CELL = 48; // drawn size of one image, px
const GAP = 6;
const LABEL_WIDTH = 110;

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function svgDocument(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

export interface TextStyle {
  size?: number; // px, default 11
  bold?: boolean;
}

export function svgText(x: number, y: number, s: string, style: TextStyle = {}): string {
  const weight = style.bold ? ' font-weight="bold"' : '';
  return `<text x="${x}" y="${y}" font-family="sans-serif" font-size="${style.size ?? 11}"${weight}>${escapeXml(s)}</text>`;
}

function image(x: number, y: number, src: string, size = CELL): string {
  return `<image x="${x}" y="${y}" width="${size}" height="${size}" href="${src}" style="image-rendering:pixelated"/>`;
}

/** Dark squares over the dropped patches (mask value 0) of an image drawn at (x, y). */
function droppedPatches(x: number, y: number, grid: PatchGrid, keep: number[], size = CELL): string[] {
  const pw = size / grid.cols;
  const ph = size / grid.rows;
  const out: string[] = [];
  keep.forEach((k, i) => {
    if (k === 1) return;
    const r = Math.floor(i / grid.cols);
    const c = i % grid.cols;
    out.push(`<rect x="${x + c * pw}" y="${y + r * ph}" width="${pw}" height="${ph}" fill="black" fill-opacity="0.6"/>`);
  });
  return out;
}

/** The last snapshot: one row per class, one column per sample, masks darkening dropped patches. */
export function gallerySvg(p: GalleryPayload): string {
  const snap = p.snapshots[p.snapshots.length - 1];
  const rows = [...new Set(snap.images.map((im) => im.classIndex))].sort((a, b) => a - b);
  const cols = Math.max(1, ...snap.images.map((im) => im.sample + 1));
  const top = 24;
  const body = [svgText(4, 14, `${p.title ?? 'Inverted images'} — step ${snap.step}`, { bold: true })];
  for (const im of snap.images) {
    const x = LABEL_WIDTH + im.sample * (CELL + GAP);
    const y = top + rows.indexOf(im.classIndex) * (CELL + GAP + 12);
    body.push(image(x, y, im.src));
    if (im.mask && p.patchGrid) body.push(...droppedPatches(x, y, p.patchGrid, im.mask));
    if (im.confidence !== undefined) body.push(svgText(x, y + CELL + 10, `p=${im.confidence.toFixed(2)}`, { size: 9 }));
  }
  rows.forEach((c, r) => body.push(svgText(4, top + r * (CELL + GAP + 12) + CELL / 2, p.classes[c])));
  return svgDocument(LABEL_WIDTH + cols * (CELL + GAP), top + rows.length * (CELL + GAP + 12), body);
}

/** One row per image: the image, then the kept patches after each pruning layer. */
export function pruningSvg(p: PruningPayload): string {
  const top = 24;
  const body = [svgText(4, 14, p.title ?? 'Token pruning', { bold: true })];
  let width = LABEL_WIDTH;
  p.images.forEach((im, r) => {
    const y = top + r * (CELL + GAP + 14);
    body.push(svgText(4, y + CELL / 2, im.label ?? `image ${r}`), image(LABEL_WIDTH, y, im.src));
    im.layers.forEach((layer, j) => {
      const x = LABEL_WIDTH + (j + 1) * (CELL + GAP);
      const kept = layer.kept.reduce((a, b) => a + b, 0) / layer.kept.length;
      body.push(image(x, y, im.src), ...droppedPatches(x, y, p.patchGrid, layer.kept));
      body.push(svgText(x, y + CELL + 11, `L${layer.layer} ${(100 * kept).toFixed(0)}%`, { size: 9 }));
      width = Math.max(width, x + CELL + GAP);
    });
  });
  return svgDocument(Math.max(width, LABEL_WIDTH + CELL + GAP), top + p.images.length * (CELL + GAP + 14), body);
}

/** Support row, then query images framed green (right) or red (wrong) with their predictions. */
export function episodeSvg(p: EpisodePayload): string {
  const perRow = 10;
  const body = [svgText(4, 14, p.title ?? 'Episode', { bold: true })];
  let y = 24;
  if (p.scoring) {
    body.push(svgText(4, y + 10, p.scoring, { size: 9 }));
    y += 14;
  }
  const section = (name: string, items: EpisodeQueryImage[]) => {
    body.push(svgText(4, y + 10, name, { bold: true }));
    y += 16;
    items.forEach((im, i) => {
      const x = 4 + (i % perRow) * (CELL + GAP + 30);
      const yy = y + Math.floor(i / perRow) * (CELL + 30);
      body.push(image(x, yy, im.src));
      if (im.prediction !== undefined) {
        const ok = im.prediction === im.label;
        body.push(
          `<rect x="${x - 1}" y="${yy - 1}" width="${CELL + 2}" height="${CELL + 2}" fill="none" stroke="${ok ? 'green' : 'red'}" stroke-width="2"/>`,
        );
        body.push(svgText(x, yy + CELL + 11, `${ok ? '✓' : '✗'} ${p.classes[im.prediction]}`, { size: 9 }));
        body.push(svgText(x, yy + CELL + 21, queryScores(im), { size: 9 }));
      } else {
        body.push(svgText(x, yy + CELL + 11, p.classes[im.label], { size: 9 }));
      }
    });
    y += Math.ceil(items.length / perRow) * (CELL + 30);
  };
  section('support', p.support);
  section('query', p.query);
  return svgDocument(4 + perRow * (CELL + GAP + 30), y + 4, body);
}

/** One line per LoRA: id, rank, classes and tuning record. */
export function zooSvg(p: ZooPayload): string {
  const lines = p.loras.slice(0, 60).map((l) => zooLine(l.id, l.classes, l.rank, l.record));
  if (p.loras.length > 60) lines.push(`… and ${p.loras.length - 60} more`);
  const body = [svgText(4, 14, `${p.title ?? 'LoRA zoo'} (${p.loras.length} LoRAs${p.backbone ? `, ${p.backbone}` : ''})`, { bold: true })];
  lines.forEach((line, i) => body.push(svgText(4, 32 + i * 15, line)));
  return svgDocument(760, 40 + lines.length * 15, body);
}

export function zooLine(id: string, classes: string[], rank?: number, record?: Record<string, number | string>): string {
  const shown = classes.slice(0, 8).join(', ') + (classes.length > 8 ? ', …' : '');
  const rec = record
    ? Object.entries(record)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`)
        .join(' ')
    : '';
  return `${id}${rank ? ` (r=${rank})` : ''}: ${shown}${rec ? ` — ${rec}` : ''}`;
}
