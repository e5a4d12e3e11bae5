import * as fs from 'fs';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetOption, withDataset, writeDataConfig } from '../../src/cli/dataset-ports';
import { makeHandlers } from '../../src/cli/handlers';
import { main } from '../../src/cli/main';
import { ConfigError } from '../../src/errors';
import { VisionTransformer } from '../../src/model';
import { loadRunConfig } from '../../src/reproduce/config';
import type { PipelinePorts } from '../../src/reproduce/ports';
import { removeTemp, tempDir, writeClass } from '../data/image-folder-fixtures';
import { ZOO_TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';
import { inProcessRunner } from '../../src/parallel/job-runner';

const tinyConfig = path.join(__dirname, '..', '..', 'configs', 'tiny.json'); // 5-way, 1-shot first

let tmp: string;
let testOnly: string; // five classes, no splits: every class "test"
let withSplits: string; // base, validation and novel folders
const savedCacheEnv = process.env.LORA_RECYCLE_DATA_DIR;
beforeAll(async () => {
  await useTestBackend('cpu');
  tmp = tempDir('cli-data');
  process.env.LORA_RECYCLE_DATA_DIR = path.join(tmp, 'cache'); // the loaders' default cache, for this file only
  testOnly = path.join(tmp, 'pets');
  withSplits = path.join(tmp, 'split');
  for (let c = 0; c < 5; c++) {
    await writeClass(path.join(testOnly, `class-${c}`), 3, [40 * c, 255 - 40 * c, 100]);
    await writeClass(path.join(withSplits, 'validation', `v${c}`), 2, [40 * c, 0, 0]);
    await writeClass(path.join(withSplits, 'novel', `n${c}`), 2, [0, 40 * c, 0]);
  }
  await writeClass(path.join(withSplits, 'base', 'b0'), 2, [0, 0, 0]);
});
afterAll(() => {
  if (savedCacheEnv === undefined) delete process.env.LORA_RECYCLE_DATA_DIR;
  else process.env.LORA_RECYCLE_DATA_DIR = savedCacheEnv;
  removeTemp(tmp);
});

/** Ports with a micro backbone; building a zoo or reading built-in sets is not what these tests may reach. */
function fakePorts(calls: string[] = []): PipelinePorts {
  return {
    runner: inProcessRunner(),
    loadBackbone: async () => VisionTransformer.random(ZOO_TEST_VIT, 3),
    zoo: async (_backbone, config) => {
      calls.push(`zoo on ${JSON.stringify(config.data.main)}`);
      throw new Error('zoo reached');
    },
    invert: async () => {
      throw new Error('no inversion here');
    },
    realImages: async () => {
      throw new Error('no real images here');
    },
    episodes: async (set) => {
      calls.push(`episodes ${set}`);
      return null;
    },
    dispose: () => undefined,
  };
}

function sink() {
  const out: string[] = [];
  return { isTTY: false, write: (t: string) => out.push(t), text: () => out.join('') };
}

describe('--data', () => {
  it('reads an existing folder as an image folder (absolute path), a built-in name as that data set, anything else as an error', () => {
    const relative = path.relative(process.cwd(), testOnly);
    expect(datasetOption({ data: relative })).toEqual({ loader: 'folder', path: testOnly });
    expect(datasetOption({ data: 'glyph-domain' })).toEqual({ loader: 'glyph-domain' });
    expect(datasetOption({})).toBeUndefined();
    expect(() => datasetOption({ data: path.join(tmp, 'nothing-here') })).toThrow(/is neither a folder nor a data set name/);
    expect(() => datasetOption({ data: 'folder' })).toThrow(ConfigError);
  });

  it("evaluate --data <folder> evaluates on the folder's classes, with the first build on the progress bar, and reads the cache after", async () => {
    const out = path.join(tmp, 'metrics.json');
    const argv = ['evaluate', '--config', tinyConfig, '--data', testOnly, '--methods', 'nn', '--episodes', '2', '--out', out];
    const stdout = sink();
    const stderr = sink();
    expect(await main(argv, { stdout, stderr, handlers: makeHandlers(() => fakePorts()) })).toBe(0);
    const metrics = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(metrics).toMatchObject({ set: 'folder', ways: 5, shots: 1 });
    expect(metrics.results[0]).toMatchObject({ method: 'nn', n: 2 });
    expect(stdout.text()).toMatch(/^nn: .* % over 2 episodes/m);
    expect(stderr.text()).toMatch(/build folder-pets-\w+-8: decode \(15 image files in 5 class folders/);
    expect(stderr.text()).toMatch(/build folder-pets-\w+-8 \[#+\] 15\/15/);
    const again = sink();
    expect(await main(argv, { stdout: sink(), stderr: again, handlers: makeHandlers(() => fakePorts()) })).toBe(0);
    expect(again.text()).toMatch(/: cache \(15 images of .* read from the cache\)/);
    expect(again.text()).not.toMatch(/decode/);
  });

  it('zoo --data <folder without base classes> stops before tuning, naming the fix', async () => {
    const stderr = sink();
    const calls: string[] = [];
    const code = await main(['zoo', '--config', tinyConfig, '--data', testOnly, '--out', path.join(tmp, 'zoo')], {
      stdout: sink(),
      stderr,
      handlers: makeHandlers(() => fakePorts(calls)),
    });
    expect(code).toBe(1);
    expect(stderr.text()).toMatch(/image folder .*pets has no base classes to tune a zoo on: put class folders in <folder>\/base\//);
    expect(calls).toEqual([]);
  });

  it("zoo --data <folder> tunes on the folder: the configuration's main data set becomes the folder", async () => {
    const calls: string[] = [];
    const code = await main(['zoo', '--config', tinyConfig, '--data', withSplits, '--out', path.join(tmp, 'zoo')], {
      stdout: sink(),
      stderr: sink(),
      handlers: makeHandlers(() => fakePorts(calls)),
    });
    expect(code).toBe(1); // the fake zoo port stops there
    expect(calls).toEqual([`zoo on ${JSON.stringify({ loader: 'folder', path: withSplits })}`]);
  });

  it("serves the folder's episode sets: <loader>-<split>, and <loader> for novel (else test); other sets go to the ports", async () => {
    const calls: string[] = [];
    const ports = withDataset(fakePorts(calls), { loader: 'folder', path: withSplits });
    (await ports.loadBackbone(loadRunConfig(tinyConfig))).dispose();
    const shape = { ways: 5, shots: 1, queries: 1 };
    const validation = (await ports.episodes('folder-validation', shape, 2, 1))!;
    expect(validation.origin!.list.split).toBe('validation');
    expect(validation.origin!.dataset).toEqual({ loader: 'folder', path: withSplits, size: 8 });
    expect((await ports.episodes('folder', shape, 1, 1))!.origin!.list.split).toBe('novel');
    await expect(ports.episodes('folder-test', shape, 1, 1)).rejects.toThrow(/has no test classes for episode set "folder-test"/);
    expect(await ports.episodes('mnist', shape, 1, 1)).toBeNull();
    expect(calls).toEqual(['episodes mnist']);
    const flat = withDataset(fakePorts(), { loader: 'folder', path: testOnly, size: 8 });
    expect((await flat.episodes('folder', shape, 1, 1))!.origin!.list.split).toBe('test');
  });

  it('reproduce --data writes the configuration with the folder as its main data set, named after it', () => {
    const file = writeDataConfig(loadRunConfig(tinyConfig), { loader: 'folder', path: testOnly }, path.join(tmp, 'reports'));
    expect(path.basename(file)).toBe('tiny-pets.config.json');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({
      name: 'tiny-pets',
      data: { imageSize: 32, main: { loader: 'folder', path: testOnly } },
    });
  });
});
