/** The part of opentype.js (1.3) this project uses: cmap lookup and glyph outlines. */
declare module 'opentype.js' {
  export interface BoundingBox {
    x1: number;
    y1: number;
    x2: number;
    y2: number;
  }
  export interface Path {
    getBoundingBox(): BoundingBox;
    toPathData(decimalPlaces?: number): string;
  }
  export interface Glyph {
    index: number;
    getPath(x: number, y: number, fontSize: number): Path;
  }
  export interface Font {
    charToGlyph(char: string): Glyph;
    hasChar(char: string): boolean;
    names: { fontFamily?: Record<string, string>; fontSubfamily?: Record<string, string> };
  }
  export function parse(buffer: ArrayBuffer): Font;
}
