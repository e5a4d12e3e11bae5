import * as fs from 'fs';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { reproduce } from '../../src/reproduce/reproduce';
import { createPorts } from '../../src/reproduce/wiring';
import type { ReproductionReport } from '../../src/reproduce/report';
import { microConfig } from '../reproduce/micro-config';
import { removeTemp, tempDir, writeImage, type Rgb } from '../data/image-folder-fixtures';
import { expectReportRecomputes } from '../reproduce/report-arithmetic';

// `reproduce --data <folder>`: the whole pipeline (real ports) with a user's image folder as the
// main domain: zoo on its base classes, selection on its validation classes, headline on its novel ones.
let tmp: string;
let folder: string;
const savedCacheEnv = process.env.LORA_RECYCLE_DATA_DIR;
beforeAll(async () => {
  tmp = tempDir('cli-reproduce-folder');
  process.env.LORA_RECYCLE_DATA_DIR = path.join(tmp, 'cache');
  folder = path.join(tmp, 'shapes');
  const colour = (split: number, c: number): Rgb => [(37 * c + 90 * split) % 256, (91 * c) % 256, (53 * c + 20 * split) % 256];
  for (const [s, split, classes] of [
    [0, 'base', 10],
    [1, 'validation', 5],
    [2, 'novel', 5],
  ] as const) {
    for (let c = 0; c < classes; c++) {
      // images of a class differ in size (so in the crop the loader takes), not only in name
      for (let i = 0; i < 4; i++)
        await writeImage(path.join(folder, split, `${split}-${c}`, `${i}.png`), colour(s, c), { width: 12 + 3 * i, height: 10 + i });
    }
  }
}, 120_000);
afterAll(() => {
  if (savedCacheEnv === undefined) delete process.env.LORA_RECYCLE_DATA_DIR;
  else process.env.LORA_RECYCLE_DATA_DIR = savedCacheEnv;
  removeTemp(tmp);
});

describe('reproduce --data <image folder>', () => {
  it("runs the quick profile in the folder's domain and reports its headline and gates", async () => {
    const config = microConfig({
      zoo: { shots: 2, heldOut: 1 },
      evaluation: { sets: ['folder-novel'] },
      baselines: { methods: ['nn', 'uniform-nn', 'lora-recycle'] },
    });
    const configPath = path.join(tmp, 'micro.json');
    fs.writeFileSync(configPath, JSON.stringify(config));
    const outDir = path.join(tmp, 'reports');
    const out: string[] = [];
    const sink = {
      isTTY: false,
      write: (t: string) => {
        out.push(t);
        return true;
      },
    };
    const code = await main(
      ['reproduce', '--profile', 'quick', '--config', configPath, '--data', folder, '--out', outDir, '--work', path.join(tmp, 'work')],
      { stdout: sink, stderr: sink },
    );
    expect(code, out.join('')).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(outDir, 'quick-folder.json'), 'utf8')) as ReproductionReport;
    expect(report.headline).toMatchObject({ set: 'folder-novel', shots: 1 });
    expect(report.gates?.map((g) => g.name)).toEqual(['teachers', 'oracle', 'inversion', 'headline']);
    expect(report.notes.join(' ')).toContain('selected on the folder-validation episodes');
    const zoo = JSON.parse(fs.readFileSync(path.join(tmp, 'work', 'zoo', 'zoo.json'), 'utf8'));
    expect(zoo.entries.flatMap((e: { classIds: string[] }) => e.classIds).every((id: string) => /^folder:base-\d$/.test(id))).toBe(true);
    expectReportRecomputes(report);
  }, 600_000);

  it("runs from a configuration file naming the folder as data.main, through the library's own ports (no --data)", async () => {
    const config = microConfig({
      data: { main: { loader: 'folder', path: folder } },
      zoo: { size: 2, shots: 2, heldOut: 1 },
      evaluation: { sets: ['folder-novel'] },
      baselines: { methods: ['nn', 'lora-recycle'] },
    });
    const configPath = path.join(tmp, 'folder-main.json');
    fs.writeFileSync(configPath, JSON.stringify(config));
    const ports = createPorts();
    const report = await reproduce('quick', ports, {
      configPath,
      outDir: path.join(tmp, 'reports-lib'),
      workDir: path.join(tmp, 'work-lib'),
    });
    ports.dispose();
    expect(report.table23.map((b) => `${b.set}/${b.shots}`)).toEqual(['folder-novel/1']);
    expect(report.notes.join(' ')).toContain('selected on the folder-validation episodes');
    expect(fs.existsSync(path.join(tmp, 'reports-lib', 'quick-folder.json'))).toBe(true);
  }, 600_000);
});
