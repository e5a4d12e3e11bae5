/** The command line of the scripts and benchmarks, parsed once by node's util.parseArgs. */
import { parseArgs } from 'util';
import { ConfigError } from '../src/errors';

type Values<D, F extends string> = { [K in keyof D]: D[K] extends string ? string : string | undefined } & Record<F, boolean>;

/**
 * `--name value` options with their defaults (strings as typed; undefined: no default) and
 * `--name` switches (false unless given), plus the positional arguments. Strict: an unknown
 * option, or an option without its value, is a ConfigError that lists the known ones.
 */
export function commandLine<D extends Record<string, string | undefined>, F extends string = never>(
  defaults: D,
  flags: readonly F[] = [],
  args: string[] = process.argv.slice(2),
): { values: Values<D, F>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const name of Object.keys(defaults)) options[name] = { type: 'string' };
  for (const name of flags) options[name] = { type: 'boolean' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const known = [...Object.keys(defaults).map((n) => `--${n} VALUE`), ...flags.map((f) => `--${f}`)].join(', ') || 'none';
    throw new ConfigError(`${(error as Error).message}; the options are ${known}`);
  }
  const switches = Object.fromEntries(flags.map((f) => [f, false]));
  return { values: { ...defaults, ...switches, ...parsed.values } as Values<D, F>, positionals: parsed.positionals };
}
