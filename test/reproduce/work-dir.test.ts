import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { TINY_VIT } from '../../src/model/config';
import type { VisionTransformer } from '../../src/model/vision-transformer';
import type { PipelinePorts } from '../../src/reproduce/ports';
import { reproduce } from '../../src/reproduce/reproduce';
import { inProcessRunner } from '../../src/parallel/job-runner';

describe('reproduce without --work', () => {
  it('removes the temporary work directory it made when the run fails', async () => {
    const dirs: string[] = [];
    const failing = new Error('zoo stage failed');
    const ports: PipelinePorts = {
      runner: inProcessRunner(),
      loadBackbone: async () => ({ config: TINY_VIT, dispose: () => undefined }) as unknown as VisionTransformer,
      zoo: async (_backbone, _config, dir) => {
        dirs.push(dir);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'manifest.json'), '{}');
        throw failing;
      },
      invert: async () => {
        throw new Error('not reached');
      },
      realImages: async () => {
        throw new Error('not reached');
      },
      episodes: async () => null,
      dispose: () => undefined,
    };
    await expect(reproduce('quick', ports, { write: false })).rejects.toBe(failing);
    expect(dirs).toHaveLength(1);
    const workDir = path.dirname(dirs[0]);
    expect(path.dirname(workDir)).toBe(os.tmpdir());
    expect(path.basename(workDir)).toMatch(/^lora-recycle-quick-/);
    expect(fs.existsSync(workDir)).toBe(false);
  });
});
