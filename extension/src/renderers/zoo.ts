/** Zoo view: one row per pre-tuned LoRA with its classes, rank, targets and tuning record. */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { ZooPayload } from 'lora-recycle/display/schema';
import { el } from '../dom';
import { PayloadRenderer } from './base';

const CLASSES_SHOWN = 12;

export class ZooRenderer extends PayloadRenderer<'zoo'> {
  constructor(options: IRenderMime.IRendererOptions) {
    super('zoo', options);
  }

  protected draw(p: ZooPayload): void {
    const head = el('tr', {}, ...['LoRA', 'rank', 'targets', 'classes', 'tuning record'].map((h) => el('th', { scope: 'col' }, h)));
    const rows = p.loras.map((l) => {
      const chips = l.classes.slice(0, CLASSES_SHOWN).map((c) => el('span', { class: 'lr-chip' }, c));
      const more = l.classes.length > CLASSES_SHOWN ? el('span', { class: 'lr-more' }, `+${l.classes.length - CLASSES_SHOWN} more`) : null;
      const record = Object.entries(l.record ?? {}).map(([k, v]) =>
        el('span', { class: 'lr-record' }, `${k}: ${typeof v === 'number' ? String(+v.toPrecision(4)) : v}`),
      );
      return el(
        'tr',
        {},
        el('th', { scope: 'row' }, l.id),
        el('td', {}, l.rank === undefined ? '' : String(l.rank)),
        el('td', {}, (l.targets ?? []).join(', ')),
        el('td', {}, ...chips, more),
        el('td', {}, ...record),
      );
    });
    const caption = `${p.title ?? 'LoRA zoo'} — ${p.loras.length} LoRAs${p.backbone ? ` on ${p.backbone}` : ''}`;
    this.node.replaceChildren(
      el('table', { class: 'lr-zoo-table' }, el('caption', {}, caption), el('thead', {}, head), el('tbody', {}, ...rows)),
    );
  }
}
