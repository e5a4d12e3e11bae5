import sharp from 'sharp';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors';
import {
  MIME,
  PayloadError,
  crc32,
  curvesBundle,
  encodePng,
  episodeBundle,
  galleryBundle,
  imagesToPngDataUrls,
  pruningBundle,
  zooBundle,
} from '../../src/display';
import { GRID, curvesInput, galleryInput, pngs } from './fixtures';

const decode = async (url: string) => {
  const { data, info } = await sharp(Buffer.from(url.split(',')[1], 'base64'))
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: [...data], width: info.width, height: info.height, channels: info.channels };
};

describe('PNG encoding', () => {
  it('crc32 matches the PNG spec value of "IEND"', () => {
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082);
  });

  it('an independent decoder (sharp) reads back the exact RGB bytes', async () => {
    const bytes = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => (i * 37) % 256);
    const png = encodePng(bytes, 3, 2, 3);
    const out = await decode(`x,${png.toString('base64')}`);
    expect(out).toMatchObject({ width: 3, height: 2, channels: 3 });
    expect(out.data).toEqual([...bytes]);
  });

  it('writes one unfiltered scanline per row', () => {
    const png = encodePng(new Uint8Array([10, 20, 30, 40]), 2, 2, 1);
    const idatAt = png.indexOf('IDAT');
    const len = png.readUInt32BE(idatAt - 4);
    expect([...inflateSync(png.subarray(idatAt + 4, idatAt + 4 + len))]).toEqual([0, 10, 20, 0, 30, 40]);
  });

  it('imagesToPngDataUrls scales [0,1] to bytes, clamps and maps NaN to 0', async () => {
    const px = Float32Array.from([0, 0.5, 1, 2, -1, Number.NaN]); // 2 images of 1×1 RGB
    const [a, b] = imagesToPngDataUrls(px, 2, 1, 1, 3);
    expect((await decode(a)).data).toEqual([0, 128, 255]);
    expect((await decode(b)).data).toEqual([255, 0, 0]);
    expect(a.startsWith('data:image/png;base64,')).toBe(true);
  });

  it('rejects mismatched sizes with ShapeError', () => {
    expect(() => imagesToPngDataUrls(new Float32Array(10), 1, 2, 2, 3)).toThrow(ShapeError);
    expect(() => encodePng(new Uint8Array(4), 2, 2, 2)).toThrow(/expected 1, 3 or 4 channels, found 2/);
  });
});

describe('bundle builders', () => {
  it('every builder returns the vendor payload with SVG and text fallbacks', () => {
    const [src] = pngs(1);
    const bundles = {
      gallery: galleryBundle(galleryInput()),
      pruning: pruningBundle({ patchGrid: GRID, images: [{ src, label: 'a', layers: [{ layer: 1, kept: [1, 0, 0, 1] }] }] }),
      curves: curvesBundle(curvesInput()),
      episode: episodeBundle({
        classes: ['x', 'y'],
        support: [{ src, label: 0 }],
        query: [
          { src, label: 1, prediction: 1 },
          { src, label: 0, prediction: 1 },
        ],
      }),
      zoo: zooBundle({ loras: [{ id: 'l0', classes: ['x'], rank: 4, record: { loss: 0.123456 } }] }),
    };
    for (const [kind, bundle] of Object.entries(bundles)) {
      expect(Object.keys(bundle).sort()).toEqual([MIME[kind as keyof typeof MIME], 'image/svg+xml', 'text/plain'].sort());
      expect((bundle[MIME[kind as keyof typeof MIME]] as { version: number }).version).toBe(1);
      expect(bundle['image/svg+xml']).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
    expect(bundles.pruning['text/plain']).toContain('L1 50.0%');
    expect(bundles.episode['text/plain']).toContain('1/2 query images right (50.0%)');
    expect(bundles.curves['text/plain']).toContain('loss (validation): 0.4000 at step 3');
    expect(bundles.zoo['text/plain']).toContain('l0 (r=4): x — loss=0.1235');
    expect(bundles.gallery['image/svg+xml']).toContain('fill-opacity="0.6"'); // a dropped patch is darkened
  });

  it('escapes markup from strings in the SVG fallback', () => {
    const svg = zooBundle({ title: '<script>x</script>', loras: [{ id: '"><img onerror=1>', classes: [] }] })['image/svg+xml'] as string;
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('<img');
    expect(svg).toContain('&lt;script&gt;');
  });

  it('refuses invalid input with PayloadError before emitting', () => {
    expect(() => galleryBundle({ ...galleryInput(), classes: [] })).toThrow(PayloadError);
    expect(() => curvesBundle({ series: [{ metric: 'loss', split: 'train', x: [1], y: [Number.NaN] }] })).toThrow(
      /finite number, found NaN/,
    );
  });
});

/** Minimal XML well-formedness: balanced tags, unique attributes, no raw `<` or `&` in text. */
function checkXml(xml: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    const text = xml.slice(last, m.index);
    expect(text).not.toMatch(/[<>]|&(?!(lt|gt|amp|quot|apos);)/);
    last = m.index + m[0].length;
    const names = [...m[3].matchAll(/([\w:-]+)="/g)].map((a) => a[1]);
    expect(new Set(names).size, `duplicate attribute in ${m[0].slice(0, 80)}`).toBe(names.length);
    if (m[1]) expect(stack.pop()).toBe(m[2]);
    else if (!m[4]) stack.push(m[2]);
  }
  expect(xml.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

describe('SVG fallbacks', () => {
  it('are well-formed XML for every payload type', () => {
    const [src] = pngs(1);
    const svgs = [
      galleryBundle(galleryInput()),
      pruningBundle({ patchGrid: GRID, images: [{ src, label: 'a & <b>', layers: [{ layer: 1, kept: [1, 0, 0, 1] }] }] }),
      curvesBundle(curvesInput()),
      episodeBundle({ classes: ['x', 'y'], support: [{ src, label: 0 }], query: [{ src, label: 1, prediction: 0 }] }),
      zooBundle({ title: 'z "q"', loras: [{ id: "it's", classes: ['a<b'], record: { note: '&' } }] }),
    ].map((b) => b['image/svg+xml'] as string);
    for (const svg of svgs) checkXml(svg);
  });
});
