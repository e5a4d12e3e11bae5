import * as path from 'path';
import { encodePng } from '../display/png';
import { writeFileAtomic } from '../io/atomic-write';

function toPng(values: Float32Array, h: number, w: number, c: number): Buffer {
  const bytes = new Uint8Array(h * w * c);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round(values[i] * 255)));
  return encodePng(bytes, w, h, c);
}

/**
 * PNGs of a surrogate set for people to look at (never read back): image-i.png (pixels in
 * [0, 1]) and, when pruned, mask-i.png (surviving patches white) and masked-i.png.
 */
export function writeSurrogatePreviews(dir: string, pixels: Float32Array, masks: Float32Array | null, [b, h, w, c]: number[]): void {
  const frame = h * w * c;
  for (let i = 0; i < b; i++) {
    const image = pixels.subarray(i * frame, (i + 1) * frame);
    writeFileAtomic(path.join(dir, `image-${i}.png`), toPng(image, h, w, c));
    if (!masks) continue;
    const mask = masks.subarray(i * h * w, (i + 1) * h * w);
    writeFileAtomic(path.join(dir, `mask-${i}.png`), toPng(mask, h, w, 1));
    writeFileAtomic(
      path.join(dir, `masked-${i}.png`),
      toPng(
        image.map((v, j) => v * mask[Math.floor(j / c)]),
        h,
        w,
        c,
      ),
    );
  }
}
