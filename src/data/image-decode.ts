import * as fs from 'fs';
import sharp from 'sharp';

/** One image file as the model sees it, and the size it had on disk. */
export interface DecodedImage {
  pixels: Uint8Array; // [size, size, 3] RGB
  width: number; // source pixels, after EXIF orientation
  height: number;
}

const WHITE = { r: 255, g: 255, b: 255 };

/**
 * Decodes an image file (PNG, JPEG, WebP, GIF: first frame, SVG) with sharp to `size`×`size` RGB:
 * EXIF orientation applied, alpha composited over white, then the shorter side scaled to `size`
 * and the centre cropped (the longer side loses equal parts at both ends). SVGs are rendered at a
 * density that makes their shorter side at least `size` before scaling. Throws sharp's error for
 * files it cannot decode (corrupt, truncated, not an image); the caller decides what to do.
 */
export async function decodeImageFile(file: string, size: number): Promise<DecodedImage> {
  const bytes = await fs.promises.readFile(file);
  const meta = await sharp(bytes).metadata();
  if (!meta.width || !meta.height) throw new Error(`no image size in the file (format ${meta.format ?? 'unknown'})`);
  const turned = (meta.orientation ?? 1) >= 5; // EXIF orientations 5–8 swap width and height
  const width = turned ? meta.height : meta.width;
  const height = turned ? meta.width : meta.height;
  const shorter = Math.min(width, height);
  const density = meta.format === 'svg' && shorter < size ? Math.ceil((72 * size) / shorter) : undefined;
  const { data, info } = await sharp(bytes, { density, pages: 1, failOn: 'warning' })
    .rotate()
    .flatten({ background: WHITE })
    .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.byteLength !== size * size * 3) {
    throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`);
  }
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}
