import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { resolveCacheDir } from '../../src/paths/cache-dir';

describe('the data cache directory', () => {
  it('is $XDG_CACHE_HOME/lora-recycle/data by default', () => {
    expect(resolveCacheDir({ XDG_CACHE_HOME: '/x/cache' }, '/home/u', null)).toBe(path.join('/x/cache', 'lora-recycle', 'data'));
  });

  it('is ~/.cache/lora-recycle/data without $XDG_CACHE_HOME, or when it is empty or relative (the XDG rule)', () => {
    const expected = path.join('/home/u', '.cache', 'lora-recycle', 'data');
    expect(resolveCacheDir({}, '/home/u', null)).toBe(expected);
    expect(resolveCacheDir({ XDG_CACHE_HOME: '' }, '/home/u', null)).toBe(expected);
    expect(resolveCacheDir({ XDG_CACHE_HOME: 'rel/cache' }, '/home/u', null)).toBe(expected);
  });

  it('is $LORA_RECYCLE_DATA_DIR (made absolute) whenever it is set', () => {
    expect(resolveCacheDir({ LORA_RECYCLE_DATA_DIR: '/data/lr', XDG_CACHE_HOME: '/x/cache' }, '/home/u', '/pkg/.cache/data')).toBe(
      '/data/lr',
    );
    expect(resolveCacheDir({ LORA_RECYCLE_DATA_DIR: 'rel' }, '/home/u', null)).toBe(path.resolve('rel'));
  });

  it('keeps using a cache already built inside the package, so that it is not built again', () => {
    expect(resolveCacheDir({ XDG_CACHE_HOME: '/x/cache' }, '/home/u', '/pkg/.cache/data')).toBe('/pkg/.cache/data');
  });
});
