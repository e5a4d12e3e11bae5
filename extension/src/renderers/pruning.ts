/**
 * Pruning view: for each image, the patches still present after each pruning layer (dropped ones
 * darkened) and the kept fraction.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { PruningPayload } from 'lora-recycle/display/schema';
import { el, maskCanvas } from '../dom';
import { droppedPatches, keptFraction } from '../logic/gallery-layout';
import { PayloadRenderer } from './base';

export class PruningRenderer extends PayloadRenderer<'pruning'> {
  constructor(options: IRenderMime.IRendererOptions) {
    super('pruning', options);
  }

  protected draw(p: PruningPayload): void {
    const { rows, cols } = p.patchGrid;
    const figure = (src: string, label: string, caption: string, mask?: number[]) =>
      el(
        'figure',
        { class: 'lr-figure' },
        el(
          'div',
          { class: 'lr-frame' },
          el('img', { src, alt: label }),
          mask ? maskCanvas(droppedPatches(mask, p.patchGrid), rows, cols) : null,
        ),
        el('figcaption', {}, caption),
      );
    const imageRows = p.images.map((im, i) => {
      const label = im.label ?? `image ${i}`;
      const layers = im.layers.map((layer) => {
        const kept = layer.kept.reduce((a, b) => a + b, 0);
        const f = figure(
          im.src,
          `${label}, layer ${layer.layer}`,
          `layer ${layer.layer} · ${(100 * keptFraction(layer.kept)).toFixed(0)}% kept (${kept}/${layer.kept.length})`,
          layer.kept,
        );
        f.dataset.kept = String(kept);
        return f;
      });
      return el('div', { class: 'lr-pruning-row' }, el('div', { class: 'lr-row-label' }, label), figure(im.src, label, 'input'), ...layers);
    });
    this.node.replaceChildren(el('div', { class: 'lr-title' }, p.title ?? `Token pruning (${rows}×${cols} patches)`), ...imageRows);
  }
}
