/**
 * Interrupt points at the `await`s of a cell's top-level code: `await X` becomes `await CHECK(X)`,
 * where CHECK passes X through until the cell is interrupted, and after that rejects with the
 * interrupt instead of waiting. A loop in the cell that awaits therefore stops at its next await
 * once interrupted, even when it never looks at `jupyter.signal`; an await already in progress (a
 * library run stopping at its next step) still completes. Awaits inside functions the cell defines
 * are left alone: they may be callbacks of a library run that is ending its step cleanly.
 * The rewrite keeps every line where it was (tracebacks name cell lines).
 */
import * as ts from "typescript";

/** `js` (a compiled cell) with each top-level `await X` turned into `await check(X)`; lines are kept. */
export function withAwaitCheckpoints(js: string, check: string): string {
  const source = ts.createSourceFile("cell.js", js, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const inserts: Array<{ at: number; text: string }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isAwaitExpression(node)) {
      inserts.push({ at: node.expression.getStart(source), text: `${check}(` }, { at: node.expression.end, text: ")" });
    }
    if (!ts.isFunctionLike(node)) ts.forEachChild(node, visit);
  };
  visit(source);
  inserts.sort((a, b) => b.at - a.at); // from the end, so that earlier offsets stay valid
  let out = js;
  for (const { at, text } of inserts) out = out.slice(0, at) + text + out.slice(at);
  return out;
}

/**
 * The CHECK of a cell: `value` itself while `signal` is not aborted; else a promise rejected with
 * the signal's reason on the next turn of the event loop (so a loop that catches the interrupt
 * still lets the kernel answer requests, such as a second interrupt that abandons it).
 */
export function awaitCheckpoint<T>(signal: AbortSignal, value: T): T | Promise<never> {
  if (!signal.aborted) return value;
  Promise.resolve(value).catch(() => undefined); // its outcome is no longer awaited
  return new Promise<never>((_, reject) => setImmediate(() => reject(signal.reason)));
}
