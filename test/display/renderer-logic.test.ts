import { describe, expect, it } from 'vitest';
import { validateGallery } from '../../src/display';
import { curvesFigure, plotlyText, stopState } from '../../extension/src/logic/curves-figure';
import { droppedPatches, galleryLayout, keptFraction, nextSnapshotIndex, rangeKey, sliderKey, snapshotImages } from '../../extension/src/logic/gallery-layout';
import { Throttle, type Timers } from '../../extension/src/logic/throttle';
import { classifyEntry } from '../../extension/src/logic/workspace';
import { curvesInput, galleryInput } from './fixtures';

const THEME = { font: '#111', grid: '#ccc' };

describe('gallery layout', () => {
  const p = validateGallery({ version: 1, ...galleryInput(3) });

  it('puts classes in rows and samples in columns', () => {
    const l = galleryLayout(p);
    expect(l.rows).toEqual([0, 1]);
    expect(l.cols).toBe(2);
    expect(l.cells.map((c) => [c.row, c.col])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1]]);
    expect(l.hasMasks).toBe(true);
  });

  it('maps a snapshot to its images by cell', () => {
    expect(snapshotImages(p, 2).get('1:1')!.src).toBe(p.snapshots[2].images[3].src);
    expect(snapshotImages(p, 99).get('0:0')).toBe(p.snapshots[2].images[0]); // clamped
  });

  it('follows the newest snapshot unless the user moved away from the end', () => {
    expect(nextSnapshotIndex(p, null, false)).toBe(2);
    expect(nextSnapshotIndex(p, 10, false)).toBe(1);
    expect(nextSnapshotIndex(p, 10, true)).toBe(2);
    expect(nextSnapshotIndex(p, 999, false)).toBe(2);
  });

  it('moves the slider with the keyboard, clamped', () => {
    expect(sliderKey('ArrowRight', 0, 20)).toBe(1);
    expect(sliderKey('ArrowLeft', 0, 20)).toBe(0);
    expect(sliderKey('PageUp', 5, 20)).toBe(7);
    expect(sliderKey('End', 5, 20)).toBe(19);
    expect(sliderKey('Home', 5, 20)).toBe(0);
    expect(sliderKey('a', 5, 20)).toBeNull();
    expect(rangeKey('ArrowUp', 0.6, 0, 1, 0.05)).toBe(0.65);
    expect(rangeKey('PageDown', 0.05, 0, 1, 0.05)).toBe(0);
    expect(rangeKey('End', 0.3, 0, 1, 0.05)).toBe(1);
  });

  it('finds dropped patches and the kept fraction', () => {
    expect(droppedPatches([1, 0, 0, 1, 1, 1], { rows: 2, cols: 3 })).toEqual([[0, 1], [0, 2]]);
    expect(keptFraction([1, 0, 0, 1])).toBe(0.5);
  });
});

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
    const fig = curvesFigure({
      version: 1, title: `run <b>${link}</b> & co`, xLabel: '<i>step</i>',
      series: [{ metric: img, split: 'train', x: [1], y: [1] }, { metric: '<b>acc</b>', split: 'validation', x: [1], y: [0.5] }],
    }, THEME);
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

describe('throttle', () => {
  it('runs the first call at once and collapses later ones into one trailing call', () => {
    let now = 0;
    const pending: Array<() => void> = [];
    const timers: Timers = { now: () => now, setTimeout: (fn) => pending.push(fn), clearTimeout: () => pending.splice(0) };
    const seen: number[] = [];
    const t = new Throttle<number>((v) => seen.push(v), 100, timers);
    t.call(1);
    t.call(2);
    t.call(3);
    expect(seen).toEqual([1]);
    now = 100;
    pending.shift()!();
    expect(seen).toEqual([1, 3]);
    now = 250;
    t.call(4);
    expect(seen).toEqual([1, 3, 4]);
  });
});

describe('workspace entries', () => {
  it('recognises zoos and runs', () => {
    expect(classifyEntry({ name: 'zoo-emoji', path: 'zoo-emoji', type: 'directory' }, '')).toBe('zoo');
    expect(classifyEntry({ name: 'a.zoo.json', path: 'a.zoo.json', type: 'file' }, '')).toBe('zoo');
    expect(classifyEntry({ name: 'meta-1', path: 'runs/meta-1', type: 'directory' }, 'runs')).toBe('run');
    expect(classifyEntry({ name: 'notes.md', path: 'notes.md', type: 'file' }, '')).toBeNull();
  });
});
