/**
 * Training curves with Plotly (bundled, loaded on first use): loss, accuracy and learning rate,
 * train and validation on one chart. update_display_data calls renderModel again: the figure is
 * redrawn in place with Plotly.react, throttled. A running, stoppable run gets a Stop button.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { CurvesPayload } from 'lora-recycle/display/schema';
import { cssVar, el } from '../dom';
import { curvesFigure, stopState } from '../logic/curves-figure';
import { Throttle } from '../logic/throttle';
import { kernelFor, sendStop } from '../kernel-control';
import { PayloadRenderer } from './base';

type PlotlyModule = typeof import('plotly.js-basic-dist-min');
let plotly: Promise<PlotlyModule> | null = null;
const loadPlotly = () =>
  (plotly ??= import('plotly.js-basic-dist-min').then((m) => ((m as { default?: PlotlyModule }).default ?? m) as PlotlyModule));

export const CURVES_THROTTLE_MS = 150;

export class CurvesRenderer extends PayloadRenderer<'curves'> {
  private plot: HTMLDivElement | null = null;
  private status: HTMLElement | null = null;
  private stopButton: HTMLButtonElement | null = null;
  private latest: CurvesPayload | null = null;
  private stopRequested = false;
  private readonly throttle = new Throttle<CurvesPayload>((p) => void this.redraw(p), CURVES_THROTTLE_MS);
  private readonly themeObserver = new MutationObserver(() => this.latest && void this.redraw(this.latest));
  /** redraws done and their summed time, exposed as data-redraws / data-redraw-ms for tests and the benchmark */
  private redraws = 0;
  private redrawMs = 0;

  constructor(options: IRenderMime.IRendererOptions) {
    super('curves', options);
    this.themeObserver.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name'] });
  }

  dispose(): void {
    this.throttle.cancel();
    this.themeObserver.disconnect();
    if (this.plot) void loadPlotly().then((P) => this.plot && P.purge(this.plot));
    super.dispose();
  }

  protected reset(): void {
    this.plot = null;
    this.throttle.cancel();
  }

  protected async draw(p: CurvesPayload): Promise<void> {
    this.latest = p;
    if (!this.plot || !this.node.contains(this.plot)) {
      this.build();
      await this.redraw(p); // first render at once
    } else {
      this.throttle.call(p);
    }
    this.updateControls(p);
  }

  private build(): void {
    this.plot = el('div', { class: 'lr-plot' });
    this.status = el('span', { class: 'lr-status', 'aria-live': 'polite' });
    this.stopButton = el('button', { type: 'button', class: 'lr-stop jp-mod-styled jp-mod-warn' }, 'Stop');
    this.stopButton.addEventListener('click', () => void this.stop());
    this.node.replaceChildren(el('div', { class: 'lr-controls' }, this.stopButton, this.status), this.plot);
  }

  private async redraw(p: CurvesPayload): Promise<void> {
    const Plotly = await loadPlotly();
    if (!this.plot) return;
    const start = performance.now();
    const theme = { font: cssVar('--jp-ui-font-color1', '#222'), grid: cssVar('--jp-border-color2', '#ddd') };
    const fig = curvesFigure(p, theme);
    await Plotly.react(this.plot, fig.data, fig.layout, { responsive: true, displaylogo: false });
    this.redraws++;
    this.redrawMs += performance.now() - start;
    this.node.dataset.redraws = String(this.redraws);
    this.node.dataset.redrawMs = this.redrawMs.toFixed(1);
    this.node.dataset.points = String(p.series.reduce((n, s) => n + s.x.length, 0));
  }

  private updateControls(p: CurvesPayload): void {
    const state = stopState(p);
    if (!this.stopButton || !this.status) return;
    this.stopButton.hidden = state !== 'offer';
    this.stopButton.disabled = this.stopRequested;
    if (state === 'finished') {
      this.status.textContent = this.stopRequested ? 'stopped' : 'finished';
    } else if (state === 'offer' && !this.stopRequested) {
      this.status.textContent = `running${p.run ? ` · ${p.run}` : ''}`;
    }
    this.node.dataset.running = String(p.running === true);
  }

  private async stop(): Promise<void> {
    const kernel = kernelFor(this.node);
    if (!kernel) {
      this.status!.textContent = 'cannot stop: no kernel found for this output';
      return;
    }
    this.stopRequested = true;
    this.stopButton!.disabled = true;
    this.status!.textContent = 'stopping…';
    try {
      const reply = await sendStop(kernel);
      this.status!.textContent =
        reply.type === 'stopped'
          ? reply.running
            ? 'stop sent: the run ends at its next step'
            : 'nothing was running'
          : `kernel answered: ${reply.message ?? reply.type}`;
    } catch (e) {
      this.stopRequested = false;
      this.stopButton!.disabled = false;
      this.status!.textContent = `stop failed: ${e instanceof Error ? e.message : e}`;
    }
  }
}
