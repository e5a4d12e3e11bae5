import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Kept across runs by design: the threaded wasm backend's worker script (src/backend/wasm-threads.ts). */
const CACHED = /^lora-recycle-tfjs-wasm-.+\.worker\.cjs$/;

/**
 * Runs the tests with a private temp directory (so other processes' files do not count) and
 * fails the run if the tests left any `lora*` entry in it: every test removes what it creates.
 */
export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vitest-tmp-'));
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    const left = fs.readdirSync(dir).filter((name) => name.startsWith('lora') && !CACHED.test(name));
    fs.rmSync(dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`the tests left ${left.join(', ')} in the temp directory; each test must remove what it creates`);
  };
}
