import * as fs from 'fs';
import * as path from 'path';
import { threadId } from 'worker_threads';

let counter = 0;

/**
 * Writes `data` to `filePath` so readers never see a half-written file: the bytes go to a temporary
 * file in the same directory (named by process, thread and call: concurrent writers, worker threads
 * included, never share one), are flushed to disk (fsync), then renamed over the target.
 * Missing parent directories are created.
 */
export function writeFileAtomic(filePath: string, data: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(filePath));
  fs.mkdirSync(dir, { recursive: true });
  counter += 1;
  const tmp = path.join(dir, `.${path.basename(filePath)}.${process.pid}.${threadId}.${counter}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.byteLength) {
      written += fs.writeSync(fd, bytes, written, bytes.byteLength - written);
    }
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, filePath);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/** JSON with two-space indentation and a final newline, written atomically. */
export function writeJsonAtomic(filePath: string, value: unknown): void {
  writeFileAtomic(filePath, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Fills a fresh sibling directory with `write`, then renames it to `dir` (an earlier `dir` is
 * replaced), so readers see the old directory or the new one, never a mix. On error the sibling
 * is removed and `dir` is left as it was.
 */
export function replaceDirectoryAtomic(dir: string, write: (temp: string) => void): void {
  const target = path.resolve(dir);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = fs.mkdtempSync(`${path.join(path.dirname(target), `.${path.basename(target)}`)}.${process.pid}-${threadId}-`);
  try {
    write(temp);
    if (fs.existsSync(target)) {
      const old = `${temp}.old`;
      fs.renameSync(target, old);
      fs.renameSync(temp, target);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(temp, target);
    }
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}
