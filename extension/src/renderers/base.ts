/**
 * Base of every LoRA Recycle renderer: parse and validate the payload (lora-recycle/display/schema),
 * show a clear error box when it is malformed, else hand the clean payload to `draw`. JupyterLab
 * calls `renderModel` again on update_display_data: subclasses update in place where they can.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { parsePayload, type PayloadByKind, type PayloadKind } from 'lora-recycle/display/schema';
import { el } from '../dom';

export abstract class PayloadRenderer<K extends PayloadKind> extends Widget implements IRenderMime.IRenderer {
  protected readonly mimeType: string;

  constructor(
    protected readonly kind: K,
    options: IRenderMime.IRendererOptions,
  ) {
    super();
    this.mimeType = options.mimeType;
    this.addClass('lr-view');
    this.addClass(`lr-${kind}`);
    // keys pressed on our slider and buttons go to them, not to notebook shortcuts (Enter, arrows)
    this.node.setAttribute('data-lm-suppress-shortcuts', 'true');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    let payload: PayloadByKind[K];
    try {
      payload = parsePayload(this.kind, model.data[this.mimeType]);
    } catch (e) {
      this.showError('payload rejected', e);
      return;
    }
    try {
      this.node.classList.remove('lr-has-error');
      await this.draw(payload);
    } catch (e) {
      this.showError('could not draw the payload', e);
    }
  }

  /** Draws (first call) or updates (later calls) the view from a validated payload. */
  protected abstract draw(payload: PayloadByKind[K]): void | Promise<void>;

  /** Forgets drawn state so the next `draw` starts from an empty node. */
  protected reset(): void {}

  private showError(what: string, error: unknown): void {
    this.reset();
    this.node.classList.add('lr-has-error');
    const message = error instanceof Error ? error.message : String(error);
    this.node.replaceChildren(
      el('div', { class: 'lr-error', role: 'alert' }, el('strong', {}, `LoRA Recycle ${this.kind}: ${what}`), el('div', {}, message)),
    );
  }
}
