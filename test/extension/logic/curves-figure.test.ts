import { describe, expect, it } from 'vitest';
import { curvesFigure, plotlyText, stopState } from '../../../extension/src/logic/curves-figure';
import { curvesInput } from '../../display/fixtures';

const THEME = { font: '#111', grid: '#ccc' };

describe('curves figure', () => {
  it('one panel per metric, validation dashed, learning rate on a log axis', () => {
    const fig = curvesFigure({ version: 1, ...curvesInput() }, THEME);
    expect(fig.data.map((t) => [t.name, t.yaxis, t.line.dash])).toEqual([
      ['loss (train)', 'y', 'solid'],
      ['loss (validation)', 'y', 'dash'],
      ['lr (train)', 'y2', 'solid'],
    ]);
    expect((fig.layout.yaxis2 as { type: string }).type).toBe('log');
    expect((fig.layout.yaxis as { type: string }).type).toBe('linear');
    const [lo1, hi1] = (fig.layout.yaxis as { domain: number[] }).domain;
    const [lo2, hi2] = (fig.layout.yaxis2 as { domain: number[] }).domain;
    expect(hi2).toBeLessThan(lo1); // stacked, not overlapping
    expect(lo2).toBeGreaterThanOrEqual(0);
    expect(hi1).toBe(1);
    expect(fig.layout.uirevision).toBe('r1');
  });

  it('hands Plotly every payload string escaped, so markup in titles and names shows as text', () => {
    const link = '<a href="javascript:window.__xss=5">t</a>';
    const img = '<img src=x onerror=window.__xss=6>';
    const fig = curvesFigure(
      {
        version: 1,
        title: `run <b>${link}</b> & co`,
        xLabel: '<i>step</i>',
        series: [
          { metric: img, split: 'train', x: [1], y: [1] },
          { metric: '<b>acc</b>', split: 'validation', x: [1], y: [0.5] },
        ],
      },
      THEME,
    );
    const texts = [
      (fig.layout.title as { text: string }).text,
      (fig.layout.xaxis as { title: { text: string } }).title.text,
      (fig.layout.yaxis as { title: { text: string } }).title.text,
      (fig.layout.yaxis2 as { title: { text: string } }).title.text,
      ...fig.data.map((t) => t.name),
    ];
    for (const text of texts) expect(text).not.toMatch(/[<>]/);
    expect(texts).toEqual([
      'run &lt;b&gt;&lt;a href="javascript:window.__xss=5"&gt;t&lt;/a&gt;&lt;/b&gt; &amp; co',
      '&lt;i&gt;step&lt;/i&gt;',
      '&lt;img src=x onerror=window.__xss=6&gt;',
      '&lt;b&gt;acc&lt;/b&gt;',
      '&lt;img src=x onerror=window.__xss=6&gt; (train)',
      '&lt;b&gt;acc&lt;/b&gt; (validation)',
    ]);
  });

  it('escapes &, < and > and leaves other text alone', () => {
    expect(plotlyText('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    expect(plotlyText('&lt;')).toBe('&amp;lt;'); // an entity in the payload stays literal too
    expect(plotlyText('val_loss (train) 95 %')).toBe('val_loss (train) 95 %');
  });

  it('offers Stop only while a stoppable run is going on', () => {
    expect(stopState({ version: 1, series: [], running: true, stoppable: true })).toBe('offer');
    expect(stopState({ version: 1, series: [], running: true, stoppable: false })).toBe('none');
    expect(stopState({ version: 1, series: [], running: false, stoppable: true })).toBe('finished');
  });
});
