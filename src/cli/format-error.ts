import { LoraRecycleError } from '../errors';

/**
 * What the CLI prints for a failure: `error: <Class>: <message>`; the stack only with --verbose.
 * Errors of this library are expected failures (bad input, missing data); anything else is
 * marked as unexpected, since it points at a bug.
 */
export function formatError(error: unknown, verbose: boolean): string {
  if (!(error instanceof Error)) return `error: ${String(error)}\n`;
  const kind = error instanceof LoraRecycleError ? error.name : `unexpected ${error.name}`;
  const head = `error: ${kind}: ${error.message}\n`;
  if (verbose) return `${head}${error.stack ?? ''}\n`;
  return error instanceof LoraRecycleError ? head : `${head}(run again with --verbose for the stack trace)\n`;
}
