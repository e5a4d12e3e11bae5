import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Runs `body` with a fresh directory under the system temp directory (named `prefix` + random)
 * and removes that directory with everything in it when `body` ends, returned or thrown.
 */
export async function withTemporaryDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
