import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { formatError } from '../../src/cli/format-error';
import { FileFormatError, MissingResourceError } from '../../src/errors';
import type { OptionValues } from '../../src/cli/commands';

function sink() {
  const out: string[] = [];
  return { isTTY: false, write: (t: string) => out.push(t), text: () => out.join('') };
}

describe('lora-recycle CLI', () => {
  it('passes parsed options to the subcommand and exits 0', async () => {
    const stdout = sink();
    const stderr = sink();
    let received: OptionValues | undefined;
    const code = await main(['evaluate', '--config', 'c.json', '--methods', 'nn,lora-recycle', '--shots', '5', '--out', 'm.json'], {
      stdout,
      stderr,
      handlers: {
        evaluate: async (values, ctx) => {
          received = values;
          ctx.print('done');
        },
      },
    });
    expect(code).toBe(0);
    expect(received).toMatchObject({ config: 'c.json', methods: 'nn,lora-recycle', shots: '5', out: 'm.json' });
    expect(stdout.text()).toBe('done\n');
  });

  it('turns progress events into progress bars on stderr', async () => {
    const stdout = sink();
    const stderr = sink();
    await main(['meta-train', '--steps', '2'], {
      stdout,
      stderr,
      handlers: {
        'meta-train': async (_v, ctx) => {
          ctx.onEvent!({ kind: 'step', run: 'meta-train', step: 2, totalSteps: 2, metrics: { loss: 0.25 } });
        },
      },
    });
    expect(stderr.text()).toMatch(/meta-train \[#+\] 2\/2 .*loss=0\.2500/);
  });

  it('reports a library error as class and message with exit code 1 and no stack', async () => {
    const stdout = sink();
    const stderr = sink();
    const code = await main(['zoo', '--out', 'z'], {
      stdout,
      stderr,
      handlers: {
        zoo: async () => {
          throw new MissingResourceError('the emoji data set is not built; run npm run data');
        },
      },
    });
    expect(code).toBe(1);
    expect(stderr.text()).toBe('error: MissingResourceError: the emoji data set is not built; run npm run data\n');
  });

  it('prints the stack only with --verbose', async () => {
    const stdout = sink();
    const stderr = sink();
    const code = await main(['zoo', '--verbose'], {
      stdout,
      stderr,
      handlers: {
        zoo: async () => {
          throw new FileFormatError('a.lora', 'truncated');
        },
      },
    });
    expect(code).toBe(1);
    expect(stderr.text()).toMatch(/^error: FileFormatError: a\.lora: truncated\n.*at /s);
  });

  it('rejects an unknown command and an unknown option with the usage', async () => {
    const stderr = sink();
    expect(await main(['frobnicate'], { stdout: sink(), stderr, handlers: {} })).toBe(1);
    expect(stderr.text()).toMatch(
      /error: ConfigError: unknown command "frobnicate"; expected one of zoo, invert, meta-train, evaluate, reproduce/,
    );
    const stderr2 = sink();
    expect(await main(['invert', '--bogus', '1'], { stdout: sink(), stderr: stderr2, handlers: {} })).toBe(1);
    expect(stderr2.text()).toMatch(/error: ConfigError: invert: .*--bogus.*usage: lora-recycle invert/);
  });

  it("marks errors that are not the library's own as unexpected", () => {
    expect(formatError(new TypeError('x is undefined'), false)).toBe(
      'error: unexpected TypeError: x is undefined\n(run again with --verbose for the stack trace)\n',
    );
  });

  it('prints the usage with --help', async () => {
    const stdout = sink();
    expect(await main(['--help'], { stdout, stderr: sink(), handlers: {} })).toBe(0);
    expect(stdout.text()).toMatch(/reproduce\s+run the Table 2\/3/);
  });
});
