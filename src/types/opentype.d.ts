/** The part of opentype.js (1.3) this project uses: cmap lookup and glyph outlines. */
declare module 'opentype.js' {
  export interface BoundingBox {
    x1: number;
    y1: number;
    x2: number;
    y2: number;
  }
  export interface PathCommand {
    type: string; // M, L, C, Q, Z
    x?: number;
    y?: number;
    x1?: number;
    y1?: number;
    x2?: number;
    y2?: number;
  }
  export interface Path {
    commands: PathCommand[];
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
    names: { fontFamily?: Record<string, string>; fontSubfamily?: Record<string, string>; preferredFamily?: Record<string, string> };
    tables: { cmap?: { glyphIndexMap: Record<string, number> } };
  }
  export function parse(buffer: ArrayBuffer): Font;
}
