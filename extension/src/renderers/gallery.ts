/**
 * Inversion gallery: surrogate images by class (rows) and sample (columns), a step slider over the
 * snapshots, the pruning-mask overlay with toggle and opacity, target class and teacher confidence
 * per image, click (or Enter) to enlarge: the enlarged image opens inside the output, between the
 * controls and the grid (it covers nothing and follows the slider), and closes with its button or
 * Escape. The slider swaps image sources in place.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { GalleryImage, GalleryPayload } from 'lora-recycle/display/schema';
import { el, drawMask } from '../dom';
import {
  droppedPatches,
  formatConfidence,
  galleryLayout,
  nextSnapshotIndex,
  rangeKey,
  sliderKey,
  snapshotImages,
} from '../logic/gallery-layout';
import { PayloadRenderer } from './base';

interface CellView {
  img: HTMLImageElement;
  mask: HTMLCanvasElement;
  caption: HTMLElement;
  button: HTMLButtonElement;
}

export class GalleryRenderer extends PayloadRenderer<'gallery'> {
  private payload: GalleryPayload | null = null;
  private index = 0;
  private cells = new Map<string, CellView>();
  private slider: HTMLInputElement | null = null;
  private stepLabel: HTMLElement | null = null;
  private showMasks = true;
  private opacity = 0.6;
  private grid: HTMLElement | null = null;
  /** The enlarged image: which cell, and its panel once drawn. */
  private enlarged: { key: string; panel: HTMLElement | null } | null = null;

  constructor(options: IRenderMime.IRendererOptions) {
    super('gallery', options);
    this.node.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !this.enlarged) return;
      e.preventDefault();
      e.stopPropagation();
      this.closeEnlarged();
    });
  }

  protected reset(): void {
    this.payload = null;
    this.cells.clear();
    this.enlarged = null;
  }

  protected draw(p: GalleryPayload): void {
    const previous = this.payload;
    const wasAtEnd = !previous || this.index === previous.snapshots.length - 1;
    this.index = nextSnapshotIndex(p, previous ? previous.snapshots[this.index].step : null, wasAtEnd);
    this.payload = p;
    this.build(p);
    this.showSnapshot(this.index);
  }

  private build(p: GalleryPayload): void {
    const layout = galleryLayout(p);
    const grid = p.patchGrid;
    this.cells.clear();
    const slider = el('input', {
      type: 'range',
      class: 'lr-slider',
      min: '0',
      max: String(p.snapshots.length - 1),
      step: '1',
      'aria-label': 'Inversion snapshot',
    });
    slider.value = String(this.index);
    slider.disabled = p.snapshots.length < 2;
    slider.addEventListener('input', () => this.showSnapshot(Number(slider.value)));
    slider.addEventListener('keydown', (e) => {
      const next = sliderKey(e.key, this.index, p.snapshots.length);
      if (next === null) return;
      e.preventDefault();
      e.stopPropagation();
      this.showSnapshot(next);
    });
    this.slider = slider;
    this.stepLabel = el('span', { class: 'lr-step-label', 'aria-live': 'polite' });

    const controls = el('div', { class: 'lr-controls' }, el('label', {}, 'step ', slider), this.stepLabel);
    if (layout.hasMasks && grid) controls.append(...this.maskControls());

    const table = el('div', { class: 'lr-gallery-grid', role: 'grid' });
    table.style.gridTemplateColumns = `minmax(6em, max-content) repeat(${layout.cols}, var(--lr-thumb))`;
    layout.rows.forEach((classIndex, row) => {
      table.append(el('div', { class: 'lr-row-label', role: 'rowheader' }, p.classes[classIndex]));
      for (let col = 0; col < layout.cols; col++) {
        const cell = layout.cells.find((c) => c.row === row && c.col === col);
        if (!cell) {
          table.append(el('div', { class: 'lr-empty' }));
          continue;
        }
        const img = el('img', {
          class: 'lr-thumb-img',
          alt: `${p.classes[classIndex]}, sample ${col}`,
          'data-class': String(classIndex),
          'data-sample': String(col),
        });
        const mask = el('canvas', { class: 'lr-mask', 'aria-hidden': 'true' });
        const button = el('button', { class: 'lr-thumb', type: 'button', title: 'Enlarge' }, img, mask);
        button.addEventListener('click', () => this.enlarge(cell.key));
        const caption = el('div', { class: 'lr-caption' });
        table.append(el('div', { class: 'lr-cell', role: 'gridcell' }, button, caption));
        this.cells.set(cell.key, { img, mask, caption, button });
      }
    });
    const title = el('div', { class: 'lr-title' }, p.title ?? 'Inverted images');
    this.grid = table;
    if (this.enlarged) this.enlarged.panel = null; // redrawn by showSnapshot
    this.node.replaceChildren(title, controls, table);
    this.applyMaskStyle();
  }

  private maskControls(): HTMLElement[] {
    const toggle = el('input', { type: 'checkbox', class: 'lr-mask-toggle', 'aria-label': 'Show pruning mask' });
    toggle.checked = this.showMasks;
    toggle.addEventListener('change', () => {
      this.showMasks = toggle.checked;
      this.applyMaskStyle();
    });
    const opacity = el('input', { type: 'range', class: 'lr-opacity', min: '0', max: '1', step: '0.05', 'aria-label': 'Mask opacity' });
    opacity.value = String(this.opacity);
    const setOpacity = (value: number) => {
      this.opacity = value;
      opacity.value = String(value);
      this.applyMaskStyle();
    };
    opacity.addEventListener('input', () => setOpacity(Number(opacity.value)));
    opacity.addEventListener('keydown', (e) => {
      const next = rangeKey(e.key, this.opacity, 0, 1, 0.05);
      if (next === null) return;
      e.preventDefault();
      e.stopPropagation();
      setOpacity(next);
    });
    return [el('label', {}, toggle, ' mask'), el('label', {}, 'opacity ', opacity)];
  }

  private applyMaskStyle(): void {
    this.node.style.setProperty('--lr-mask-opacity', this.showMasks ? String(this.opacity) : '0');
  }

  /** Shows snapshot `index`: swaps every cell's image, mask and caption in place. */
  private showSnapshot(index: number): void {
    const p = this.payload;
    if (!p) return;
    this.index = index;
    const snap = p.snapshots[index];
    const images = snapshotImages(p, index);
    for (const [key, view] of this.cells) this.fillCell(view, images.get(key));
    if (this.stepLabel) this.stepLabel.textContent = `${snap.step} (${index + 1}/${p.snapshots.length})`;
    if (this.slider && this.slider.value !== String(index)) this.slider.value = String(index);
    this.node.dataset.step = String(snap.step);
    if (this.enlarged) this.drawEnlarged(false);
  }

  private fillCell(view: CellView, im: GalleryImage | undefined): void {
    const p = this.payload!;
    view.button.disabled = !im;
    view.img.style.visibility = im ? 'visible' : 'hidden';
    if (!im) {
      view.caption.textContent = '';
      return;
    }
    if (view.img.getAttribute('src') !== im.src) view.img.src = im.src; // validated PNG data URL
    const grid = p.patchGrid;
    if (im.mask && grid) drawMask(view.mask, droppedPatches(im.mask, grid), grid.rows, grid.cols);
    else drawMask(view.mask, [], 1, 1);
    view.caption.textContent = formatConfidence(im.confidence);
  }

  private enlarge(key: string): void {
    this.enlarged = { key, panel: this.enlarged?.panel ?? null };
    this.drawEnlarged(true);
  }

  /** Draws the enlarged image of the current snapshot in flow above the grid; `focus`: on its Close button. */
  private drawEnlarged(focus: boolean): void {
    const p = this.payload;
    const shown = this.enlarged;
    const im = p && shown && snapshotImages(p, this.index).get(shown.key);
    if (!p || !shown || !im) {
      this.closeEnlarged(focus);
      return;
    }
    const img = el('img', { class: 'lr-enlarged-img', alt: p.classes[im.classIndex], src: im.src });
    const mask = el('canvas', { class: 'lr-mask', 'aria-hidden': 'true' });
    if (im.mask && p.patchGrid) drawMask(mask, droppedPatches(im.mask, p.patchGrid), p.patchGrid.rows, p.patchGrid.cols);
    const close = el('button', { type: 'button', class: 'lr-close' }, 'Close');
    close.addEventListener('click', () => this.closeEnlarged());
    const caption = `${p.classes[im.classIndex]} · sample ${im.sample} · step ${p.snapshots[this.index].step}${im.confidence !== undefined ? ` · teacher ${formatConfidence(im.confidence)}` : ''}`;
    // tabindex -1: a click inside keeps the focus here, so Escape still reaches the view
    const panel = el(
      'div',
      { class: 'lr-enlarged', role: 'region', 'aria-label': 'Enlarged image', tabindex: '-1' },
      el('div', { class: 'lr-enlarged-frame' }, img, mask),
      el('div', { class: 'lr-caption' }, caption),
      close,
    );
    if (shown.panel) shown.panel.replaceWith(panel);
    else this.grid?.before(panel);
    shown.panel = panel;
    if (focus) {
      close.focus();
      panel.scrollIntoView({ block: 'nearest' });
    }
  }

  /** Removes the enlarged image; `refocus`: gives the focus back to the thumbnail that opened it. */
  private closeEnlarged(refocus = true): void {
    const shown = this.enlarged;
    if (!shown) return;
    this.enlarged = null;
    shown.panel?.remove();
    if (refocus) this.cells.get(shown.key)?.button.focus();
  }
}
