/** One-paragraph `text/plain` summaries of the payloads, for terminals and plain front ends. */
import type { CurvesPayload, EpisodePayload, GalleryPayload, PruningPayload, ZooPayload } from './payloads';
import { zooLine } from './svg';

const pct = (f: number) => `${(100 * f).toFixed(1)}%`;

export function galleryText(p: GalleryPayload): string {
  const last = p.snapshots[p.snapshots.length - 1];
  const conf = last.images.map((im) => im.confidence).filter((c): c is number => c !== undefined);
  const mean = conf.length ? `, mean target confidence ${(conf.reduce((a, b) => a + b, 0) / conf.length).toFixed(3)}` : '';
  return `${p.title ?? 'Inversion gallery'}: ${last.images.length} images of ${p.classes.length} classes, ${p.snapshots.length} snapshots (last at step ${last.step})${mean}`;
}

export function pruningText(p: PruningPayload): string {
  const lines = p.images.map((im, i) => {
    const layers = im.layers.map((l) => `L${l.layer} ${pct(l.kept.reduce((a, b) => a + b, 0) / l.kept.length)}`).join(', ');
    return `  ${im.label ?? `image ${i}`}: ${layers}`;
  });
  return [`${p.title ?? 'Token pruning'} (${p.patchGrid.rows}×${p.patchGrid.cols} patches, kept fraction per layer):`, ...lines].join('\n');
}

export function curvesText(p: CurvesPayload): string {
  const lines = p.series.map((s) => {
    const last = s.y.length ? `${s.y[s.y.length - 1].toPrecision(4)} at ${p.xLabel ?? 'step'} ${s.x[s.x.length - 1]}` : 'no points';
    return `  ${s.metric} (${s.split}): ${last}`;
  });
  const state = p.running ? ' — running' : '';
  return [`${p.title ?? 'Training curves'}${p.run ? ` [${p.run}]` : ''}${state}`, ...lines].join('\n');
}

export function episodeText(p: EpisodePayload): string {
  const predicted = p.query.filter((q) => q.prediction !== undefined);
  const right = predicted.filter((q) => q.prediction === q.label).length;
  const acc = predicted.length ? `, ${right}/${predicted.length} query images right (${pct(right / predicted.length)})` : '';
  return `${p.title ?? 'Episode'}: ${p.classes.length}-way, ${p.support.length} support, ${p.query.length} query${acc}; classes ${p.classes.join(', ')}${p.scoring ? `\n${p.scoring}` : ''}`;
}

export function zooText(p: ZooPayload): string {
  const lines = p.loras.slice(0, 40).map((l) => `  ${zooLine(l.id, l.classes, l.rank, l.record)}`);
  if (p.loras.length > 40) lines.push(`  … and ${p.loras.length - 40} more`);
  return [`${p.title ?? 'LoRA zoo'}: ${p.loras.length} LoRAs${p.backbone ? ` on ${p.backbone}` : ''}`, ...lines].join('\n');
}
