import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

export type Rgb = [number, number, number];
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif';

/** A fresh directory under os.tmpdir(); the caller removes it (removeTemp). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function removeTemp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes a solid `width`×`height` image of `colour` (alpha in [0, 1]) as `file`, creating its folder. */
export async function writeImage(
  file: string,
  colour: Rgb,
  options: { width?: number; height?: number; format?: ImageFormat; alpha?: number } = {},
): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const [r, g, b] = colour;
  const image = sharp({
    create: { width: options.width ?? 12, height: options.height ?? 8, channels: 4, background: { r, g, b, alpha: options.alpha ?? 1 } },
  });
  await image.toFormat(options.format ?? 'png').toFile(file);
}

/** Writes `count` images named 0.png, 1.png, ... of one colour into `dir`. */
export async function writeClass(dir: string, count: number, colour: Rgb): Promise<void> {
  for (let i = 0; i < count; i++) await writeImage(path.join(dir, `${i}.png`), colour);
}
