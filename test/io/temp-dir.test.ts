import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { withTemporaryDir } from '../../src/io/temp-dir';

describe('withTemporaryDir', () => {
  it('gives a fresh directory under the temp directory and removes it with its contents after the body', async () => {
    let seen = '';
    const result = await withTemporaryDir('lora-temp-test-', async (dir) => {
      seen = dir;
      expect(path.dirname(dir)).toBe(os.tmpdir());
      expect(path.basename(dir)).toMatch(/^lora-temp-test-/);
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'sub', 'a.txt'), 'x');
      return 42;
    });
    expect(result).toBe(42);
    expect(fs.existsSync(seen)).toBe(false);
  });

  it('removes the directory when the body throws, and passes the error on', async () => {
    let seen = '';
    await expect(
      withTemporaryDir('lora-temp-test-', async (dir) => {
        seen = dir;
        fs.writeFileSync(path.join(dir, 'partial.json'), '{');
        throw new Error('stage failed');
      }),
    ).rejects.toThrow('stage failed');
    expect(seen).not.toBe('');
    expect(fs.existsSync(seen)).toBe(false);
  });
});
