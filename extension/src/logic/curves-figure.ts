/**
 * Curves payload → Plotly traces and layout, DOM-free: one panel (y axis) per metric stacked over
 * a shared step axis; train solid, validation dashed, same metric same panel.
 */
import type { CurvesPayload, CurveSplit } from 'lora-recycle/display/schema';

export interface Theme {
  font: string; // text colour
  grid: string; // grid-line colour
}

export interface PlotTrace {
  type: 'scatter';
  mode: 'lines';
  name: string;
  x: number[];
  y: number[];
  xaxis: 'x';
  yaxis: string; // 'y', 'y2', ...
  legendgroup: CurveSplit;
  line: { color: string; dash: 'solid' | 'dash'; width: number };
}

export interface PlotFigure {
  data: PlotTrace[];
  layout: Record<string, unknown>;
}

const SPLIT_COLOR: Record<CurveSplit, string> = { train: '#1f77b4', validation: '#ff7f0e' };
const PANEL_PX = 170;
const GAP = 0.08;

export const isLearningRate = (metric: string) => /^(lr|learning[_ ]?rate)$/i.test(metric);

/**
 * `text` for a Plotly string: Plotly reads titles, axis titles and trace names as a subset of HTML
 * (<b>, <a href>, <br>, entities); escaping &, < and > makes it show any payload string as text.
 */
export function plotlyText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Metrics in order of first appearance: loss, accuracy, lr, ... */
export function metricsOf(p: CurvesPayload): string[] {
  return [...new Set(p.series.map((s) => s.metric))];
}

export function curvesFigure(p: CurvesPayload, theme: Theme): PlotFigure {
  const metrics = metricsOf(p);
  const n = Math.max(1, metrics.length);
  const axisName = (i: number) => (i === 0 ? 'y' : `y${i + 1}`);
  const data: PlotTrace[] = p.series.map((s) => ({
    type: 'scatter',
    mode: 'lines',
    name: plotlyText(`${s.metric} (${s.split})`),
    x: s.x,
    y: s.y,
    xaxis: 'x',
    yaxis: axisName(metrics.indexOf(s.metric)),
    legendgroup: s.split,
    line: { color: SPLIT_COLOR[s.split], dash: s.split === 'validation' ? 'dash' : 'solid', width: 2 },
  }));
  const layout: Record<string, unknown> = {
    title: p.title ? { text: plotlyText(p.title), font: { size: 14 } } : undefined,
    height: 70 + n * PANEL_PX,
    margin: { l: 70, r: 20, t: p.title ? 40 : 20, b: 40 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: theme.font },
    showlegend: true,
    legend: { orientation: 'h', y: -0.12 / n },
    uirevision: p.run ?? 'curves', // keep zoom and legend toggles across in-place updates
    xaxis: { title: { text: plotlyText(p.xLabel ?? 'step') }, gridcolor: theme.grid, zeroline: false, anchor: axisName(n - 1) },
  };
  const band = (1 - GAP * (n - 1)) / n;
  metrics.forEach((metric, i) => {
    const top = 1 - i * (band + GAP);
    const positive = p.series.filter((s) => s.metric === metric).every((s) => s.y.every((v) => v > 0));
    layout[i === 0 ? 'yaxis' : `yaxis${i + 1}`] = {
      title: { text: plotlyText(metric) },
      domain: [Math.max(0, top - band), top],
      gridcolor: theme.grid,
      zeroline: false,
      type: isLearningRate(metric) && positive ? 'log' : 'linear',
      exponentformat: 'e',
    };
  });
  return { data, layout };
}

/** What the Stop control shows for a payload. */
export function stopState(p: CurvesPayload): 'offer' | 'finished' | 'none' {
  if (p.running && p.stoppable) return 'offer';
  return p.running === false ? 'finished' : 'none';
}
