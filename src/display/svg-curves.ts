/**
 * Static SVG fallback of a curves payload: one panel per metric, train solid and validation
 * dashed, with the step range and the last value of each series.
 */
import type { CurvesPayload } from './payloads';
import { svgDocument, svgText } from './svg';

const PANEL_W = 420;
const PANEL_H = 130;
const COLORS: Record<string, string> = { train: '#1f77b4', validation: '#ff7f0e' };

export function curvesSvg(p: CurvesPayload): string {
  const metrics = [...new Set(p.series.map((s) => s.metric))];
  const body = [svgText(4, 14, p.title ?? 'Training curves', { bold: true })];
  metrics.forEach((metric, m) => {
    const top = 24 + m * (PANEL_H + 24);
    const series = p.series.filter((s) => s.metric === metric && s.x.length > 0);
    const xs = series.flatMap((s) => s.x);
    const ys = series.flatMap((s) => s.y);
    body.push(`<rect x="50" y="${top}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#999"/>`);
    body.push(svgText(4, top + PANEL_H / 2, metric));
    if (xs.length === 0) return;
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const sx = (x: number) => 50 + (x1 > x0 ? ((x - x0) / (x1 - x0)) * PANEL_W : PANEL_W / 2);
    const sy = (y: number) => top + PANEL_H - (y1 > y0 ? ((y - y0) / (y1 - y0)) * PANEL_H : PANEL_H / 2);
    body.push(svgText(52, top + 11, y1.toPrecision(3), { size: 9 }), svgText(52, top + PANEL_H - 3, y0.toPrecision(3), { size: 9 }));
    body.push(
      svgText(50, top + PANEL_H + 12, `${p.xLabel ?? 'step'} ${x0}`, { size: 9 }),
      svgText(50 + PANEL_W - 40, top + PANEL_H + 12, `${x1}`, { size: 9 }),
    );
    for (const s of series) {
      const points = s.x.map((x, i) => `${sx(x).toFixed(1)},${sy(s.y[i]).toFixed(1)}`).join(' ');
      const dash = s.split === 'validation' ? ' stroke-dasharray="5,3"' : '';
      body.push(`<polyline fill="none" stroke="${COLORS[s.split]}" stroke-width="1.5"${dash} points="${points}"/>`);
    }
    const legend = series.map((s) => `${s.split} ${s.y[s.y.length - 1].toPrecision(4)}`).join('   ');
    body.push(svgText(60, top + PANEL_H - 14, legend, { size: 10 }));
  });
  return svgDocument(PANEL_W + 60, 24 + metrics.length * (PANEL_H + 24), body);
}
