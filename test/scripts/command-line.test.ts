import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { commandLine } from '../../scripts/command-line';

describe('commandLine', () => {
  it('gives the defaults, the values given, the switches and the positionals', () => {
    const parsed = commandLine({ size: '32', seed: undefined }, ['fresh', 'evaluate'], ['build', '--size', '64', '--fresh']);
    expect(parsed.values).toEqual({ size: '64', seed: undefined, fresh: true, evaluate: false });
    expect(parsed.positionals).toEqual(['build']);
    expect(commandLine({ size: '32' }, [], ['--size=64']).values.size).toBe('64');
  });

  it('refuses an unknown option and an option without its value, listing the options', () => {
    expect(() => commandLine({ size: '32' }, ['fresh'], ['--sise', '64'])).toThrow(ConfigError);
    expect(() => commandLine({ size: '32' }, ['fresh'], ['--sise', '64'])).toThrow(/--sise.*the options are --size VALUE, --fresh/);
    expect(() => commandLine({ size: '32' }, [], ['--size'])).toThrow(/--size/);
  });
});
