import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKEND_ENV, currentBackend, selectBackend } from '../../src/backend';
import { BackendError, ConfigError } from '../../src/errors';

const nativeInstalled = (pkg: string) => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

afterEach(() => {
  delete process.env[BACKEND_ENV];
});

describe('selectBackend', () => {
  it('auto picks the fastest backend present and says why faster ones were skipped', async () => {
    const info = await selectBackend('auto');
    if (!nativeInstalled('@tensorflow/tfjs-node')) {
      expect(info.name).toBe('wasm');
      expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
      expect(info.skipped[1].reason).toMatch(/@tensorflow\/tfjs-node is not installed/);
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
    if (!nativeInstalled('@tensorflow/tfjs-node')) {
      await expect(selectBackend('tensorflow')).rejects.toThrow(BackendError);
      await expect(selectBackend('tensorflow')).rejects.toThrow(/npm install @tensorflow\/tfjs-node/);
    }
    process.env[BACKEND_ENV] = 'gpu-please';
    await expect(selectBackend()).rejects.toThrow(ConfigError);
  });
});
