import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { autoChoiceText, autoOrder, BACKEND_ENV, currentBackend, packageInstalled, selectBackend } from '../../src/backend';
import { forwardFlopsPerImage, measuredSpeeds, readMeasuredSpeeds, type MeasuredSpeeds } from '../../src/backend/measured-speeds';
import { BackendError, ConfigError, FileFormatError, MissingResourceError } from '../../src/errors';

afterEach(() => {
  delete process.env[BACKEND_ENV];
});

describe('selectBackend', () => {
  it('auto picks the fastest backend present and says why faster ones were skipped', async () => {
    const info = await selectBackend('auto');
    if (!packageInstalled('@tensorflow/tfjs-node')) {
      expect(info.name).toBe('wasm');
      expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
      expect(info.skipped[1].reason).toMatch(/@tensorflow\/tfjs-node is not installed/);
    }
    if (packageInstalled('@tensorflow/tfjs-node')) {
      const tiny = { imageSize: 32, patchSize: 4, channels: 3, width: 192, depth: 4, mlpWidth: 768, projectionDim: 192 };
      expect(info.name).toBe(autoOrder({ model: tiny, batch: 25 }).order[1]); // no GPU twin installed by default
      expect(info.reason).toMatch(/^fastest measured for tiny fwd\+bwd at batch 25/);
    }
    expect(tf.getBackend()).toBe(info.tfjsName);
    expect(currentBackend()).toBe(info);
  });

  it('honours the environment variable and an explicit request, and runs ops on cpu', async () => {
    process.env[BACKEND_ENV] = 'cpu';
    expect((await selectBackend()).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.add(1, 2).dataSync()[0]).toBe(3);
    expect((await selectBackend('wasm')).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('fails clearly for a named backend that is not installed, or a misspelt one', async () => {
    if (!packageInstalled('@tensorflow/tfjs-node')) {
      await expect(selectBackend('tensorflow')).rejects.toThrow(BackendError);
      await expect(selectBackend('tensorflow')).rejects.toThrow(/@tensorflow\/tfjs-node is not installed \(npm run setup builds it/);
    }
    process.env[BACKEND_ENV] = 'gpu-please';
    await expect(selectBackend()).rejects.toThrow(ConfigError);
  });
});

describe('autoOrder: the measured choice', () => {
  const tiny = { imageSize: 32, patchSize: 4, channels: 3, width: 192, depth: 4, mlpWidth: 768, projectionDim: 192 };
  const vitB = { imageSize: 224, patchSize: 16, channels: 3, width: 768, depth: 12, mlpWidth: 3072, projectionDim: 512 };
  const speeds = (tinyMs: { tensorflow: number; wasm: number }, bigMs: { tensorflow: number; wasm: number }): MeasuredSpeeds => ({
    measured: '2026-12-05',
    source: 'test',
    workloads: [
      { model: 'tiny', mode: 'fwdbwd_lora', batch: 25, flopsPerStep: 2 * 25 * forwardFlopsPerImage(tiny, 4), ms: tinyMs },
      { model: 'vit-b16', mode: 'fwdbwd_lora', batch: 8, flopsPerStep: 2 * 8 * forwardFlopsPerImage(vitB, 4), ms: bigMs },
      { model: 'tiny', mode: 'forward', batch: 25, flopsPerStep: 25 * forwardFlopsPerImage(tiny, 4), ms: { tensorflow: 1, wasm: 1000 } },
    ],
  });

  it('tries the GPU twin first, then the faster CPU backend of the nearest measured workload, then cpu', () => {
    const table = speeds({ tensorflow: 300, wasm: 200 }, { tensorflow: 4000, wasm: 40000 });
    const small = autoOrder({ model: tiny, batch: 20 }, table);
    expect(small.order).toEqual(['tensorflow-gpu', 'wasm', 'tensorflow', 'tensorflow-gpu', 'cpu']);
    expect(small.reason).toMatch(/tiny fwd\+bwd at batch 25: wasm 200 ms, tensorflow 300 ms/);
    const big = autoOrder({ model: vitB, batch: 4 }, table);
    expect(big.order).toEqual(['tensorflow-gpu', 'tensorflow', 'tensorflow-gpu', 'wasm', 'cpu']);
    expect(big.reason).toMatch(/vit-b16/);
  });

  it('without measurements, tries every backend in the order of preference, native first', () => {
    const none = autoOrder({ model: tiny, batch: 25 }, { measured: '2026-12-05', source: 'test', workloads: [] });
    expect(none.order).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    expect(none.reason).toBe('no measurements: native first');
  });

  it('goes by the committed measurements, and says what it would pick without loading a backend', () => {
    const committed = measuredSpeeds();
    expect(committed.workloads.some((w) => w.model === 'tiny' && w.mode === 'fwdbwd_lora' && w.batch === 25)).toBe(true);
    const expected = autoOrder({ model: tiny, batch: 25 }).order[1];
    const text = autoChoiceText();
    expect(text).toMatch(packageInstalled('@tensorflow/tfjs-node') ? new RegExp(`^${expected} \\(fastest measured`) : /^wasm /);
  });
});

describe('a damaged measurements file', () => {
  it('names the file and the fix instead of failing on a JSON detail', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-speeds-'));
    try {
      const file = path.join(dir, 'speeds.json');
      fs.writeFileSync(file, '{"workloads": [');
      expect(() => readMeasuredSpeeds(file)).toThrow(FileFormatError);
      expect(() => readMeasuredSpeeds(file)).toThrow(/speeds\.json: not valid JSON .*npm run bench:engine/);
      fs.writeFileSync(file, '{"measured": "x"}');
      expect(() => readMeasuredSpeeds(file)).toThrow(/expected a "workloads" list/);
      expect(() => readMeasuredSpeeds(path.join(dir, 'none.json'))).toThrow(MissingResourceError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
