/**
 * tslab's converter compiles a cell in two stages (TS → ES module JS → CommonJS) with fixed
 * options and no source maps. Before the converter is loaded we hand it a view of its
 * TypeScript module that (1) turns on inline source maps in stage 1, (2) records the stage-2
 * source map, and (3) maps the project's own package name to its typings. `takeCellMaps()`
 * then returns both maps for the cell just converted, so tracebacks can name cell lines.
 */
import * as path from "path";

export interface CellMaps {
  /** stage 1: ES module JS → `export {};\n` + cell source */
  toSource: object;
  /** stage 2: CommonJS (what runs) → stage-1 JS */
  toStage1: object;
}

const TSLAB_DIR = path.dirname(require.resolve("tslab/package.json"));
const TS_PATH = require.resolve("@tslab/typescript-for-tslab", { paths: [TSLAB_DIR] });
/** tslab's second stage transpiles with this file name (converter.ts, esModuleToCommonJSModule). */
const STAGE2_FILE = "custom.js";
const INLINE_MAP = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

let lastMaps: CellMaps | undefined;
let installed = false;

/** Install once, before anything requires `tslab/dist/converter`. */
export function installCompileHooks(projectRoot: string, projectName: string): void {
  if (installed) return;
  installed = true;
  const real = require(TS_PATH);
  const createWatchCompilerHost = (roots: string[], options: any, ...rest: unknown[]) =>
    real.createWatchCompilerHost(
      roots,
      {
        ...options,
        inlineSourceMap: true,
        paths: {
          ...(options.paths ?? {}),
          [projectName]: [path.join(projectRoot, "dist", "index.d.ts")],
          [`${projectName}/*`]: [path.join(projectRoot, "dist", "*")],
        },
      },
      ...rest,
    );
  const transpileModule = (input: string, opts: any) => {
    if (opts?.fileName !== STAGE2_FILE) return real.transpileModule(input, opts);
    const out = real.transpileModule(input, { ...opts, compilerOptions: { ...opts.compilerOptions, sourceMap: true } });
    const inline = INLINE_MAP.exec(input);
    lastMaps =
      inline && out.sourceMapText
        ? {
            toSource: JSON.parse(Buffer.from(inline[1], "base64").toString("utf8")),
            toStage1: JSON.parse(out.sourceMapText),
          }
        : undefined;
    return { ...out, outputText: stripMapComments(out.outputText) };
  };
  // tslab reads the module through __importStar, which copies own properties only
  const view: Record<string, unknown> = {};
  const overrides: Record<string, unknown> = { createWatchCompilerHost, transpileModule };
  for (const key of Object.keys(real)) {
    const own = overrides[key];
    Object.defineProperty(view, key, own ? { enumerable: true, value: own } : { enumerable: true, get: () => real[key] });
  }
  const cached = require.cache[TS_PATH];
  if (!cached) throw new Error(`expected ${TS_PATH} in require.cache after loading it`);
  cached.exports = view;
}

export function stripMapComments(js: string): string {
  return js.replace(/^\/\/# sourceMappingURL=.*$/gm, "");
}

/** The maps recorded by the last stage-2 transpile (the cell itself is transpiled last). */
export function takeCellMaps(): CellMaps | undefined {
  const maps = lastMaps;
  lastMaps = undefined;
  return maps;
}
