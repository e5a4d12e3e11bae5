import type * as opentype from 'opentype.js';

/**
 * Drawing one character of one font, shared by the glyph sets (glyphs.ts, glyph-domain.ts): the
 * outline from the font's cmap, an SVG of it centred in a square, and a key of its shape.
 */

/** The outline of `char` at 100 units, or undefined when the font's cmap lacks it (no missing-glyph box). */
export function glyphOutline(font: opentype.Font, char: string): opentype.Path | undefined {
  if (!font.hasChar(char) || font.charToGlyph(char).index === 0) return undefined;
  return font.charToGlyph(char).getPath(0, 0, 100);
}

/** The square the outline is drawn in: its bounding box, centred, with a 25 % margin; undefined for a blank outline. */
function drawingSquare(glyphPath: opentype.Path): { x: number; y: number; side: number } | undefined {
  const box = glyphPath.getBoundingBox();
  const w = box.x2 - box.x1;
  const h = box.y2 - box.y1;
  if (!(w > 0 && h > 0)) return undefined; // blank glyph (e.g. a space-like character)
  const side = Math.max(w, h) * 1.25;
  return { x: box.x1 - (side - w) / 2, y: box.y1 - (side - h) / 2, side };
}

/** The outline centred in a square, black on white; undefined for a blank outline. */
export function outlineSvg(glyphPath: opentype.Path, renderSize: number): string | undefined {
  const square = drawingSquare(glyphPath);
  if (!square) return undefined;
  const { x, y, side } = square;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${renderSize}" height="${renderSize}" viewBox="${x} ${y} ${side} ${side}"><rect x="${x}" y="${y}" width="${side}" height="${side}" fill="white"/><path d="${glyphPath.toPathData(2)}" fill="black"/></svg>`;
}

/** The glyph of `char` centred in a square, black on white; undefined if the font lacks it or it is blank. */
export function glyphSvg(font: opentype.Font, char: string, renderSize: number): string | undefined {
  const glyphPath = glyphOutline(font, char);
  return glyphPath && outlineSvg(glyphPath, renderSize);
}

/**
 * The outline's shape as drawn (position and scale removed, as the drawing square removes them):
 * commands with coordinates in thousandths of the square. Equal keys draw equal images; two
 * characters with equal keys in one font are homoglyphs there.
 */
export function shapeKey(glyphPath: opentype.Path): string | undefined {
  const square = drawingSquare(glyphPath);
  if (!square) return undefined;
  const at = (v: number | undefined, origin: number) => (v === undefined ? '' : Math.round(((v - origin) / square.side) * 1000));
  return glyphPath.commands
    .map(
      (c) =>
        `${c.type}${at(c.x1, square.x)},${at(c.y1, square.y)},${at(c.x2, square.x)},${at(c.y2, square.y)},${at(c.x, square.x)},${at(c.y, square.y)}`,
    )
    .join(' ');
}
