/**
 * Compiles a cell with tslab's converter and runs it in this process: keeps declarations
 * between cells, returns the value of the cell's last expression, stops on interrupt
 * (SIGINT for synchronous code; for awaited work the cell's AbortSignal, and every `await` the
 * cell begins after the interrupt rejects: see await-checkpoints.ts), and reports
 * errors with tracebacks in cell line numbers.
 */
import Module from "module";
import * as path from "path";
import * as vm from "vm";
import { awaitCheckpoint, withAwaitCheckpoints } from "./await-checkpoints";
import { installCompileHooks, stripMapComments, takeCellMaps } from "./compile-hooks";
import { type ErrorContent, Tracebacks, WRAPPER_LINES } from "./traceback";

export type Outcome = { status: "ok"; hasValue: boolean; value: unknown } | { status: "error"; error: ErrorContent; interrupted: boolean };

export interface Candidates {
  start: number;
  end: number;
  candidates: string[];
}

/** The reason an interrupted cell's AbortSignal carries, and the error such a cell ends with. */
export class InterruptedError extends Error {
  constructor(message = "the cell was interrupted") {
    super(message);
    this.name = "Interrupted";
  }
}

interface ExecutorOptions {
  /** Directory modules are resolved from (the notebook's directory). */
  rootDir: string;
  /** Root folder and name of the npm package notebooks import as a library. */
  projectRoot: string;
  projectName: string;
  /** TypeScript declarations of the globals every cell sees (see `setGlobal`). */
  globalDeclarations: string;
  /** The AbortSignal of the cell whose code is running (`jupyter.signal`): its awaits check it. */
  currentSignal: () => AbortSignal;
}

export class CellExecutor {
  private readonly converter: any;
  private readonly getCodeMetadata: (src: string) => { module?: string; mode?: string };
  private readonly isCompleteCode: (src: string) => { completed: boolean; indent?: string };
  private readonly printQuickInfo: (info: unknown) => string;
  private readonly tracebacks = new Tracebacks();
  private readonly exports: Record<string, unknown> = {};
  private readonly sideOutputs = new Map<string, string>();
  private readonly sideModules = new Map<string, Module>();
  private readonly require: NodeJS.Require;
  private prevDecl = "";

  constructor(private readonly opts: ExecutorOptions) {
    installCompileHooks(opts.projectRoot, opts.projectName);
    const converter = require("tslab/dist/converter");
    this.converter = converter.createConverter({ isJS: false, isBrowser: false });
    this.isCompleteCode = converter.isCompleteCode;
    this.getCodeMetadata = require("tslab/dist/metadata").getCodeMetadata;
    this.printQuickInfo = require("tslab/dist/inspect").printQuickInfo;
    this.require = this.wrapRequire(Module.createRequire(path.join(opts.rootDir, "__cell__.js")), opts.rootDir);
    vm.runInThisContext("(x) => { globalThis.__loraRecycleKernel__ = x; }")({
      exports: this.exports,
      require: this.require,
      checkpoint: (value: unknown) => awaitCheckpoint(opts.currentSignal(), value),
    });
  }

  /**
   * Runs a cell. `signal` is what the cell's code sees; when `abandon` aborts, an awaited cell is
   * no longer waited for (its work may go on in the background) and ends as Interrupted.
   */
  async execute(code: string, file: string, signal: AbortSignal, abandon: AbortSignal): Promise<Outcome> {
    try {
      return { status: "ok", ...(await this.run(code, file, signal, abandon)) };
    } catch (e) {
      const interrupted = e instanceof InterruptedError || (e as any)?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED";
      const error = e instanceof CompileError ? e.content : this.tracebacks.format(e);
      return { status: "error", error: interrupted ? { ...error, ename: "Interrupted" } : error, interrupted };
    }
  }

  private async run(code: string, file: string, signal: AbortSignal, abandon: AbortSignal): Promise<{ hasValue: boolean; value: unknown }> {
    const meta = this.getCodeMetadata(code);
    if (meta.module) {
      const diagnostics = this.converter.addModule(meta.module, code, meta);
      if (diagnostics.length > 0) throw new CompileError(file, diagnostics);
      return { hasValue: false, value: undefined };
    }
    const converted = this.converter.convert(this.opts.globalDeclarations + this.prevDecl, code);
    const maps = takeCellMaps();
    for (const out of converted.sideOutputs ?? []) {
      this.sideModules.delete(out.path);
      this.sideOutputs.set(out.path, out.data);
    }
    if (converted.diagnostics.length > 0) throw new CompileError(file, converted.diagnostics);
    if (!converted.output) {
      this.prevDecl = converted.declOutput ?? "";
      return { hasValue: false, value: undefined };
    }
    this.tracebacks.register(file, maps, code);
    const head = converted.hasToplevelAwait ? "(async function (exports, require) {" : "(function (exports, require) {";
    const body = withAwaitCheckpoints(stripMapComments(converted.output), "__loraRecycleKernel__.checkpoint");
    const wrapped = `${head}\n${body}\n})(__loraRecycleKernel__.exports, __loraRecycleKernel__.require)`;
    if (WRAPPER_LINES !== 1) throw new Error("wrapper line count changed");
    // declarations count once the cell starts: what ran before a failure stays usable, as in a REPL
    this.prevDecl = converted.declOutput ?? "";
    signal.throwIfAborted();
    const ret = vm.runInThisContext(wrapped, { filename: file, breakOnSigint: true });
    if (converted.hasToplevelAwait) await untilAborted(ret as Promise<unknown>, abandon);
    const name: string | undefined = converted.lastExpressionVar;
    if (!name || !(name in this.exports)) return { hasValue: false, value: undefined };
    const value = this.exports[name];
    delete this.exports[name];
    return { hasValue: value !== undefined, value };
  }

  /** A value every cell sees under `name` (declared in `globalDeclarations`). */
  setGlobal(name: string, value: unknown): void {
    // cells read names declared before them from `exports`, so globals live there too
    this.exports[name] = value;
    (globalThis as any)[name] = value;
  }

  complete(code: string, cursor: number): Candidates {
    const info = this.converter.complete(this.opts.globalDeclarations + this.prevDecl, code, cursor);
    return { start: info.start, end: info.end, candidates: info.candidates };
  }

  /** Quick info (type and doc comment) at the cursor, or undefined when there is none. */
  inspect(code: string, cursor: number): string | undefined {
    const info = this.converter.inspect(this.opts.globalDeclarations + this.prevDecl, code, cursor);
    return info ? this.printQuickInfo(info) : undefined;
  }

  isComplete(code: string): { status: "complete" } | { status: "incomplete"; indent: string } {
    const res = this.isCompleteCode(code);
    return res.completed ? { status: "complete" } : { status: "incomplete", indent: res.indent ?? "" };
  }

  close(): void {
    this.converter.close();
  }

  /**
   * `require` for cells: `tslab` resolves to the kernel's own copy (so its display API reaches
   * this kernel), the project's package name to the project root (`<name>/<sub>` to its build, dist/<sub>), and local .ts files that
   * the converter compiled to their compiled output.
   */
  private wrapRequire(req: NodeJS.Require, dir: string): NodeJS.Require {
    const { projectName, projectRoot } = this.opts;
    const wrapped = (id: string) => {
      if (id === "tslab") return require("tslab");
      if (id === projectName) return req(projectRoot);
      if (id.startsWith(`${projectName}/`)) return req(path.join(projectRoot, "dist", id.slice(projectName.length + 1)));
      return this.requireSideOutput(path.resolve(dir, id)) ?? req(id);
    };
    return Object.assign(wrapped, req) as unknown as NodeJS.Require;
  }

  private requireSideOutput(resolved: string): unknown {
    const filename = path.extname(resolved) === "" ? `${resolved}.js` : resolved;
    const cached = this.sideModules.get(filename);
    if (cached) return cached.exports;
    const source = this.sideOutputs.get(filename);
    if (source === undefined) return null;
    const mod = new Module(filename, module);
    mod.filename = filename;
    mod.paths = (Module as any)._nodeModulePaths(path.dirname(filename));
    (mod as any).require = this.wrapRequire(mod.require as unknown as NodeJS.Require, path.dirname(filename));
    this.sideModules.set(filename, mod);
    (mod as any)._compile(source, filename);
    return mod.exports;
  }
}

class CompileError extends Error {
  readonly content: ErrorContent;
  constructor(file: string, diagnostics: Array<{ start: { line: number; character: number }; messageText: string }>) {
    const lines = diagnostics.map((d) => `${file} line ${d.start.line + 1}:${d.start.character + 1} - ${d.messageText}`);
    super(lines.join("\n"));
    this.content = { ename: "CompileError", evalue: lines.join("\n"), traceback: lines };
  }
}

/** Waits for `work` unless `signal` aborts first (the work is then abandoned, not awaited). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
