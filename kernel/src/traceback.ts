/**
 * Turns anything a cell throws into Jupyter's error triple (ename, evalue, traceback) whose
 * frames point at the cells' own line numbers, using the source maps recorded per cell.
 */
import { SourceMap } from "module";
import * as util from "util";
import type { CellMaps } from "./compile-hooks";

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

interface CellRecord {
  toStage1: SourceMap;
  toSource: SourceMap;
  lines: string[];
}

/** Lines the executor puts before the transpiled cell (the function wrapper). */
export const WRAPPER_LINES = 1;
const FRAME = /(cell\[[\w.]+\]):(\d+):(\d+)/;
const INTERNAL = /node:internal|node:vm|node:async_hooks|\/kernel\/dist\//;

export class Tracebacks {
  private readonly cells = new Map<string, CellRecord>();

  register(file: string, maps: CellMaps | undefined, source: string): void {
    if (!maps) return;
    this.cells.set(file, {
      toStage1: new SourceMap(maps.toStage1 as any),
      toSource: new SourceMap(maps.toSource as any),
      lines: source.split("\n"),
    });
  }

  /** 1-based cell line and column of a 1-based position in the code that ran, if mapped. */
  sourcePosition(file: string, line: number, column: number): { line: number; column: number } | undefined {
    const cell = this.cells.get(file);
    if (!cell) return undefined;
    const s1: any = cell.toStage1.findEntry(line - 1 - WRAPPER_LINES, column - 1);
    if (s1?.originalLine === undefined) return undefined;
    const s0: any = cell.toSource.findEntry(s1.originalLine, s1.originalColumn);
    if (s0?.originalLine === undefined) return undefined;
    // the compiled source starts with one line `export {};` before the cell
    return { line: s0.originalLine, column: s0.originalColumn + 1 };
  }

  format(thrown: unknown): ErrorContent {
    if (!(thrown instanceof Error)) {
      const evalue = util.inspect(thrown);
      return { ename: "Uncaught", evalue, traceback: [`Uncaught ${evalue}`] };
    }
    const ename = thrown.name || "Error";
    const evalue = thrown.message;
    const frames = (thrown.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
    const traceback = [`${ename}: ${evalue}`];
    let excerpt: string | undefined;
    for (const frame of frames) {
      if (INTERNAL.test(frame)) continue;
      const m = FRAME.exec(frame);
      if (!m) {
        traceback.push(frame);
        continue;
      }
      const pos = this.sourcePosition(m[1], Number(m[2]), Number(m[3]));
      // the call of the wrapper function maps past the cell's last line
      if (pos && pos.line > (this.cells.get(m[1])?.lines.length ?? 0)) continue;
      if (!pos) {
        traceback.push(frame);
        continue;
      }
      traceback.push(frame.replace(FRAME, `${m[1]} line ${pos.line}:${pos.column}`));
      excerpt ??= this.excerpt(m[1], pos.line);
    }
    if (excerpt) traceback.push(excerpt);
    return { ename, evalue, traceback };
  }

  private excerpt(file: string, line: number): string | undefined {
    const text = this.cells.get(file)?.lines[line - 1];
    return text === undefined ? undefined : `\n${file}, line ${line}:\n  > ${line} | ${text.trim()}`;
  }
}
