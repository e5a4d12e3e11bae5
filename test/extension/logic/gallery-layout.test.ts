import { describe, expect, it } from 'vitest';
import { validateGallery } from '../../../src/display';
import {
  droppedPatches,
  galleryLayout,
  keptFraction,
  nextSnapshotIndex,
  rangeKey,
  sliderKey,
  snapshotImages,
} from '../../../extension/src/logic/gallery-layout';
import { galleryInput } from '../../display/fixtures';

describe('gallery layout', () => {
  const p = validateGallery({ version: 1, ...galleryInput(3) });

  it('puts classes in rows and samples in columns', () => {
    const l = galleryLayout(p);
    expect(l.rows).toEqual([0, 1]);
    expect(l.cols).toBe(2);
    expect(l.cells.map((c) => [c.row, c.col])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
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
    expect(droppedPatches([1, 0, 0, 1, 1, 1], { rows: 2, cols: 3 })).toEqual([
      [0, 1],
      [0, 2],
    ]);
    expect(keptFraction([1, 0, 0, 1])).toBe(0.5);
  });
});
