import sharp from 'sharp';

/** Renders an SVG document to `size`×`size` RGB uint8 on a white background. */
export async function rasterizeSvg(svg: string, size: number): Promise<Uint8Array> {
  const { data } = await sharp(Buffer.from(svg), { density: 72 })
    .resize(size, size, { fit: 'contain', background: { r: 255, g: 255, b: 255, alpha: 1 } })
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Resizes a grey image [h, w] (uint8) to `size`×`size` RGB uint8. */
export async function resizeGrey(grey: Uint8Array, height: number, width: number, size: number): Promise<Uint8Array> {
  const { data } = await sharp(Buffer.from(grey), { raw: { width, height, channels: 1 } })
    .resize(size, size, { kernel: 'lanczos3' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Runs `task` over items with at most `concurrency` in flight, keeping result order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, i: number) => Promise<R>,
  onDone?: (done: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
