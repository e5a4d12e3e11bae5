import { describe, expect, it } from 'vitest';
import {
  LIMITS,
  MIME,
  PayloadError,
  keptIndicesToMask,
  kindOfMime,
  parsePayload,
  validateCurves,
  validateEpisode,
  validateGallery,
  validatePruning,
  validateZoo,
} from '../../src/display';
import { GRID, curvesInput, galleryInput, pngs } from './fixtures';

const gallery = () => ({ version: 1, ...galleryInput() });
const rejects = (f: () => unknown, pattern: RegExp) => {
  expect(f).toThrow(PayloadError);
  expect(f).toThrow(pattern);
};

describe('gallery validation', () => {
  it('accepts a valid gallery and drops unknown fields', () => {
    const out = validateGallery({ ...gallery(), extra: '<script>', snapshots: gallery().snapshots.map((s) => ({ ...s, junk: 1 })) });
    expect(out.snapshots).toHaveLength(2);
    expect(out).not.toHaveProperty('extra');
    expect(out.snapshots[0]).not.toHaveProperty('junk');
    expect(out.snapshots[1].images[3]).toMatchObject({ classIndex: 1, sample: 1, confidence: 0.5, mask: [1, 0, 1, 1] });
  });

  it.each([
    ['javascript:alert(1)', /expected a PNG data URL/],
    ['data:image/svg+xml;base64,PHN2Zz4=', /expected a PNG data URL/],
    ['data:text/html;base64,PHNjcmlwdD4=', /expected a PNG data URL/],
    ['data:image/png;base64,<script>', /expected base64 data/],
    ['data:image/png;base64,', /expected base64 data/],
  ])('rejects image source %s', (src, message) => {
    const g = gallery();
    g.snapshots[0].images[0].src = src;
    rejects(() => validateGallery(g), message);
  });

  it('names the field and what was found', () => {
    const g = gallery();
    (g.snapshots[1].images[2] as { confidence: unknown }).confidence = Number.NaN;
    rejects(() => validateGallery(g), /^gallery\.snapshots\[1\]\.images\[2\]\.confidence: expected a finite number, found NaN$/);
  });

  it('rejects class indices outside the classes, masks of the wrong length and masks without a grid', () => {
    const a = gallery();
    a.snapshots[0].images[0].classIndex = 2;
    rejects(() => validateGallery(a), /classIndex: expected ≤ 1, found 2/);
    const b = gallery();
    b.snapshots[0].images[0].mask = [1, 0, 1];
    rejects(() => validateGallery(b), /expected 4 entries \(one per patch\), found 3/);
    const c = gallery();
    c.snapshots[0].images[0].mask = [1, 2, 1, 1];
    rejects(() => validateGallery(c), /mask\[1\]: expected ≤ 1, found 2/);
    const d: Record<string, unknown> = gallery();
    delete d.patchGrid;
    rejects(() => validateGallery(d), /expected `patchGrid`/);
  });

  it('enforces the size limits', () => {
    const one = gallery().snapshots[0];
    rejects(
      () => validateGallery({ ...gallery(), snapshots: Array(LIMITS.snapshots + 1).fill(one) }),
      /expected at most 100 entries, found 101/,
    );
    rejects(() => validateGallery({ ...gallery(), title: 'x'.repeat(LIMITS.stringLength + 1) }), /title: expected at most 200 characters/);
    const big = { step: 0, images: Array(LIMITS.imagesPerSnapshot).fill(one.images[0]) };
    rejects(() => validateGallery({ ...gallery(), snapshots: Array(13).fill(big) }), /at most 5000 images over all snapshots/);
    const long = `data:image/png;base64,${'A'.repeat(LIMITS.dataUrlLength)}`;
    rejects(
      () => validateGallery({ ...gallery(), snapshots: [{ step: 0, images: [{ ...one.images[0], src: long }] }] }),
      /expected at most 100000 characters/,
    );
  });

  it('rejects other schema versions and non-objects', () => {
    rejects(() => validateGallery({ ...gallery(), version: 2 }), /expected schema version 1, found the number 2/);
    rejects(() => validateGallery([]), /gallery: expected an object, found an array of 0/);
    rejects(() => validateGallery({ ...gallery(), snapshots: [] }), /at least one snapshot/);
  });
});

describe('other payloads', () => {
  it('pruning: masks per layer over the patch grid', () => {
    const [src] = pngs(1);
    const ok = validatePruning({ version: 1, patchGrid: GRID, images: [{ src, layers: [{ layer: 2, kept: [1, 1, 0, 0] }] }] });
    expect(ok.images[0].layers[0].kept).toEqual([1, 1, 0, 0]);
    rejects(() => validatePruning({ version: 1, patchGrid: { rows: 100, cols: 100 }, images: [] }), /at most 4096 patches, found 10000/);
    rejects(
      () => validatePruning({ version: 1, patchGrid: GRID, images: [{ src, layers: [{ layer: 1.5, kept: [1, 1, 1, 1] }] }] }),
      /layer: expected an integer/,
    );
  });

  it('curves: finite numbers, equal lengths, known splits', () => {
    expect(validateCurves({ version: 1, ...curvesInput() }).series).toHaveLength(3);
    const bad = curvesInput();
    bad.series[0].y = [1, 2];
    rejects(() => validateCurves({ version: 1, ...bad }), /same length, found 3 and 2/);
    const inf = curvesInput();
    inf.series[0].y[1] = Infinity;
    rejects(() => validateCurves({ version: 1, ...inf }), /y\[1\]: expected a finite number, found Infinity/);
    rejects(
      () => validateCurves({ version: 1, series: [{ metric: 'loss', split: 'test', x: [], y: [] }] }),
      /expected "train" or "validation"/,
    );
    rejects(() => validateCurves({ version: 1, series: [], stoppable: 'yes' }), /stoppable: expected true or false/);
  });

  it('episode: labels and predictions are class indices', () => {
    const [a, b] = pngs(2);
    const ok = validateEpisode({
      version: 1,
      classes: ['x', 'y'],
      support: [{ src: a, label: 0 }],
      query: [{ src: b, label: 1, prediction: 0 }],
    });
    expect(ok.query[0].prediction).toBe(0);
    rejects(
      () => validateEpisode({ version: 1, classes: ['x'], support: [], query: [{ src: b, label: 0, prediction: 3 }] }),
      /prediction: expected ≤ 0, found 3/,
    );
  });

  it('zoo: tuning records of numbers and strings, bounded', () => {
    const ok = validateZoo({ version: 1, loras: [{ id: 'a', classes: ['c'], record: { steps: 10, note: 'ok' } }] });
    expect(ok.loras[0].record).toEqual({ steps: 10, note: 'ok' });
    rejects(
      () => validateZoo({ version: 1, loras: [{ id: 'a', classes: [], record: { f: {} } }] }),
      /record\.f: expected a string, found an object/,
    );
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    rejects(() => validateZoo({ version: 1, loras: [{ id: 'a', classes: [], record: many }] }), /at most 32 entries, found 40/);
  });
});

describe('parsePayload and MIME types', () => {
  it('parses JSON text and validates it', () => {
    const p = parsePayload('curves', JSON.stringify({ version: 1, ...curvesInput() }));
    expect(p.run).toBe('r1');
    rejects(() => parsePayload('curves', '{not json'), /expected JSON/);
  });

  it('maps every MIME type to its kind and refuses others', () => {
    for (const [kind, mime] of Object.entries(MIME)) expect(kindOfMime(mime)).toBe(kind);
    expect(Object.values(MIME).every((m) => /^application\/vnd\.lora-recycle\.[a-z]+\+json$/.test(m))).toBe(true);
    rejects(() => kindOfMime('text/html'), /found "text\/html"/);
  });
});

describe('keptIndicesToMask', () => {
  it('marks the surviving patch indices', () => {
    expect(keptIndicesToMask(Int32Array.from([3, 0]), 4)).toEqual([1, 0, 0, 1]);
    rejects(() => keptIndicesToMask([4], 4), /kept\[0\]: expected a patch index in 0\.\.3, found 4/);
  });
});
