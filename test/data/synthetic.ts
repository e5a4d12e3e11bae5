import type { ClassInfo, ImageDataset, ImageRecord, Split } from '../../src/data/dataset';

/**
 * A small in-memory ImageDataset for sampler tests: `counts[i]` images of class i, image j of a
 * class drawn by source `s${j}`, each image a constant colour equal to its index / 255.
 */
export function syntheticDataset(counts: number[], split: Split = 'novel', imageSize = 4): ImageDataset {
  const classes: ClassInfo[] = counts.map((_, i) => ({ id: `c${i}`, name: `class ${i}`, split }));
  const byClass = new Map<string, ImageRecord[]>();
  let index = 0;
  counts.forEach((n, i) =>
    byClass.set(
      `c${i}`,
      Array.from({ length: n }, (_, j) => ({ classId: `c${i}`, source: `s${j}`, index: index++ })),
    ),
  );
  return {
    name: 'synthetic',
    imageSize,
    classes,
    licences: {},
    imagesOf: (classId) => byClass.get(classId) ?? [],
    pixels: (record) => new Float32Array(imageSize * imageSize * 3).fill(record.index / 255),
  };
}
