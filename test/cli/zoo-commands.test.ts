import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandlers } from '../../src/cli/handlers';
import { episodeSource, sampleEpisodes } from '../../src/data/episodes';
import { CancelledError, MissingResourceError } from '../../src/errors';
import { normalizeImages, VisionTransformer } from '../../src/model';
import type { PipelinePorts } from '../../src/reproduce/ports';
import { writeSurrogateSet, type RecordedSurrogateSet } from '../../src/surrogate';
import { buildZoo, readZooManifest } from '../../src/zoo';
import { syntheticDataset } from '../data/synthetic';
import { ZOO_TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';
import { inProcessRunner } from '../../src/parallel/job-runner';

const tinyConfig = path.join(__dirname, '..', '..', 'configs', 'tiny.json'); // zoo.size 100

let tmp: string;
let zooDir: string;
beforeAll(async () => {
  await useTestBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zoo-commands-'));
  zooDir = path.join(tmp, 'zoo');
  const backbone = VisionTransformer.random(ZOO_TEST_VIT, 3);
  const base = syntheticDataset([6, 6, 6, 6, 6, 6], 'base', 8);
  (
    await buildZoo(backbone, base, zooDir, { size: 2, ways: 5, shots: 1, heldOut: 1, rank: 2, steps: 1, learningRate: 0.01, seed: 1 })
  ).dispose();
  backbone.dispose();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Ports whose `zoo` (build or extend) must not be called; inversion and episodes are cheap stand-ins. */
function fakePorts(inverted: string[]): PipelinePorts {
  const novel = syntheticDataset([4, 4, 4, 4, 4, 4], 'novel', 8);
  return {
    runner: inProcessRunner(),
    loadBackbone: async () => VisionTransformer.random(ZOO_TEST_VIT, 3), // the zoo's backbone (same seed, same fingerprint)
    zoo: async () => {
      throw new Error('the zoo port builds or extends a zoo; a command that reads one must not call it');
    },
    invert: async (_backbone, _zoo, entries, _config, _pruning, out, control) =>
      entries.map((entry) => {
        if (control.signal?.aborted) throw new CancelledError(`inversion of ${entry.id} stopped after 0 of 1 steps; nothing saved`); // as invertLora
        inverted.push(entry.id);
        const set: RecordedSurrogateSet = {
          images: tf.zeros([1, 8, 8, 3]),
          pixels: tf.zeros([1, 8, 8, 3]),
          masks: null,
          targets: [0],
          keptPatches: null,
          teacher: { adapter: { dispose: () => undefined } as never, head: entry.head! },
          record: {
            teacherLora: entry.id,
            classNames: entry.classIds,
            targetConfidence: [1],
            maxConfidence: [1],
            teacherPredictions: [0],
            steps: 1,
            totalSteps: 1,
            iterationsPerSecond: 1,
            history: [],
          },
        };
        writeSurrogateSet(path.join(out, entry.id), set); // as the real port's jobs do
        return set;
      }),
    realImages: async () => {
      throw new Error('no command reads real zoo images');
    },
    episodes: async (_set, shape, count, seed) =>
      episodeSource(novel, sampleEpisodes(novel, 'novel', { ...shape, count, seed }), normalizeImages),
    dispose: () => undefined,
  };
}

async function run(command: string, args: string[], inverted: string[] = []): Promise<string[]> {
  const printed: string[] = [];
  const values = Object.fromEntries(
    args.map((a, i) => (a.startsWith('--') ? [a.slice(2), args[i + 1]] : null)).filter((e): e is [string, string] => e !== null),
  );
  await makeHandlers(() => fakePorts(inverted))[command](values, { print: (t) => printed.push(t) });
  return printed;
}

const sizeLine = /using the 2 LoRAs of zoo .* \(the configuration's zoo\.size is 100; "lora-recycle zoo --size N" builds more\)/;

describe('commands that read a zoo use it as it is', () => {
  it('invert inverts the 2 LoRAs of a 2-LoRA zoo, says once that the configuration wants 100, and leaves the zoo as it was', async () => {
    const before = fs.readFileSync(path.join(zooDir, 'zoo.json'), 'utf8');
    const inverted: string[] = [];
    const printed = await run('invert', ['--config', tinyConfig, '--zoo', zooDir, '--out', path.join(tmp, 'surrogates')], inverted);
    expect(inverted).toEqual(['lora-0000', 'lora-0001']);
    expect(printed.filter((l) => sizeLine.test(l))).toHaveLength(1);
    expect(fs.readFileSync(path.join(zooDir, 'zoo.json'), 'utf8')).toBe(before);
    expect(readZooManifest(zooDir)!.entries).toHaveLength(2);
  });

  it('meta-train loads the zoo without extending it (then needs surrogates)', async () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'none-'));
    const printed: string[] = [];
    await expect(
      makeHandlers(() => fakePorts([]))['meta-train'](
        { config: tinyConfig, zoo: zooDir, surrogates: empty, out: path.join(tmp, 'meta') },
        { print: (t) => printed.push(t) },
      ),
    ).rejects.toThrow(MissingResourceError);
    expect(printed.filter((l) => sizeLine.test(l))).toHaveLength(1);
    expect(readZooManifest(zooDir)!.entries).toHaveLength(2);
  });

  it('evaluate runs on the zoo as it is', async () => {
    const out = path.join(tmp, 'metrics.json');
    const printed = await run('evaluate', [
      '--config',
      tinyConfig,
      '--zoo',
      zooDir,
      '--methods',
      'uniform-nn',
      '--episodes',
      '1',
      '--out',
      out,
    ]);
    expect(printed.filter((l) => sizeLine.test(l))).toHaveLength(1);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).results[0]).toMatchObject({ method: 'uniform-nn', n: 1 });
    expect(readZooManifest(zooDir)!.entries).toHaveLength(2);
  });

  it('names the missing zoo instead of building one', async () => {
    await expect(
      run('invert', ['--config', tinyConfig, '--zoo', path.join(tmp, 'nothing'), '--out', path.join(tmp, 's2')]),
    ).rejects.toThrow(/holds no LoRA zoo: no zoo\.json/);
    expect(fs.existsSync(path.join(tmp, 'nothing'))).toBe(false);
  });
});

describe('invert interrupted', () => {
  it('does not keep the surrogate of the LoRA it was inverting when stopped', async () => {
    const controller = new AbortController();
    const ports = fakePorts([]);
    const invertOne = ports.invert;
    ports.invert = async (...args) => {
      controller.abort();
      return invertOne(...args);
    }; // Ctrl+C during the first inversion
    const out = path.join(tmp, 'stopped');
    const stopped = makeHandlers(() => ports).invert(
      { config: tinyConfig, zoo: zooDir, out },
      { print: () => undefined, signal: controller.signal },
    );
    await expect(stopped).rejects.toThrow(CancelledError);
    expect(fs.existsSync(path.join(out, 'lora-0000'))).toBe(false);
  });
});
