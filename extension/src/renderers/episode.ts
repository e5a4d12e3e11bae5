/**
 * Episode view: the support set by class, then the query images with their predictions, marked
 * right (✓) or wrong (✗), their confidence and distance margin (what they are: the payload's
 * `scoring` line), and the episode accuracy.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { type EpisodePayload, type EpisodeQueryImage, queryCaption } from 'lora-recycle/display/schema';
import { el } from '../dom';
import { PayloadRenderer } from './base';

export class EpisodeRenderer extends PayloadRenderer<'episode'> {
  constructor(options: IRenderMime.IRendererOptions) {
    super('episode', options);
  }

  protected draw(p: EpisodePayload): void {
    const support = p.classes.map((name, c) =>
      el(
        'div',
        { class: 'lr-episode-class' },
        el('div', { class: 'lr-row-label' }, name),
        ...p.support.filter((s) => s.label === c).map((s) => el('img', { class: 'lr-episode-img', src: s.src, alt: `support: ${name}` })),
      ),
    );
    const query = p.query.map((q) => this.queryFigure(p, q));
    const predicted = p.query.filter((q) => q.prediction !== undefined);
    const right = predicted.filter((q) => q.prediction === q.label).length;
    const summary = predicted.length
      ? `${right}/${predicted.length} right (${((100 * right) / predicted.length).toFixed(1)}%)`
      : 'no predictions';
    this.node.replaceChildren(
      el('div', { class: 'lr-title' }, `${p.title ?? 'Episode'} — ${p.classes.length}-way, ${summary}`),
      ...(p.scoring ? [el('div', { class: 'lr-note' }, p.scoring)] : []),
      el('div', { class: 'lr-section-label' }, `support (${p.support.length})`),
      el('div', { class: 'lr-episode-support' }, ...support),
      el('div', { class: 'lr-section-label' }, `query (${p.query.length})`),
      el('div', { class: 'lr-episode-query' }, ...query),
    );
  }

  private queryFigure(p: EpisodePayload, q: EpisodeQueryImage): HTMLElement {
    const truth = p.classes[q.label];
    if (q.prediction === undefined) {
      return el(
        'figure',
        { class: 'lr-figure' },
        el('img', { class: 'lr-episode-img', src: q.src, alt: truth }),
        el('figcaption', {}, truth),
      );
    }
    const ok = q.prediction === q.label;
    return el(
      'figure',
      { class: `lr-figure ${ok ? 'lr-right' : 'lr-wrong'}`, 'data-correct': String(ok) },
      el('img', { class: 'lr-episode-img', src: q.src, alt: `${truth}, predicted ${p.classes[q.prediction]}` }),
      el('figcaption', {}, queryCaption(p, q)),
    );
  }
}
