#!/usr/bin/env node
import { parseArgs } from 'util';
import { ConfigError } from '../errors';
import type { RunListener } from '../progress/events';
import { COMMAND_SPECS, type Command, type OptionValues } from './commands';
import { formatError } from './format-error';
import { progressBar, type ProgressSink } from './progress-bar';

export interface CliIO {
  stdout: ProgressSink;
  stderr: ProgressSink;
  /** Subcommand handlers by name; default the real ones (src/cli/handlers.ts, loaded on demand). */
  handlers?: Record<string, Command['run']>;
  signal?: AbortSignal;
}

function usage(): string {
  const lines = ['usage: lora-recycle <command> [options] [--verbose]', '', 'commands:'];
  for (const spec of COMMAND_SPECS) lines.push(`  ${spec.name.padEnd(11)} ${spec.summary}`, `  ${''.padEnd(11)} ${spec.usage}`);
  return `${lines.join('\n')}\n`;
}

/** Runs the command line `argv` (without node and script); returns the exit code (0 ok, 1 failure). */
export async function main(argv: readonly string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const verbose = argv.includes('--verbose');
  const args = argv.filter((a) => a !== '--verbose');
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    io.stdout.write(usage());
    return args.length === 0 ? 1 : 0;
  }
  try {
    const spec = COMMAND_SPECS.find((s) => s.name === args[0]);
    if (!spec) throw new ConfigError(`unknown command "${args[0]}"; expected one of ${COMMAND_SPECS.map((s) => s.name).join(', ')}`);
    if (args.includes('--help')) {
      io.stdout.write(`usage: lora-recycle ${spec.name} ${spec.usage}\n${spec.summary}\n`);
      return 0;
    }
    let values: OptionValues;
    try {
      values = parseArgs({ args: args.slice(1), options: spec.options, strict: true, allowPositionals: false }).values as OptionValues;
    } catch (error) {
      throw new ConfigError(`${spec.name}: ${(error as Error).message.split('\n')[0]}; usage: lora-recycle ${spec.name} ${spec.usage}`);
    }
    const handlers = io.handlers ?? (await import('./handlers')).HANDLERS;
    const onEvent: RunListener = progressBar(io.stderr);
    await handlers[spec.name](values, { onEvent, signal: io.signal, print: (text) => io.stdout.write(`${text}\n`) });
    return 0;
  } catch (error) {
    io.stderr.write(formatError(error, verbose));
    return 1;
  }
}

/** Repeats of one Ctrl+C closer than this are copies (the terminal signals the whole process group and npm forwards it again). */
const REPEAT_MS = 1000;

/**
 * The SIGINT listener of the command line: the first interrupt aborts `controller` (the run stops
 * at its next step boundary, saving what it can resume from); copies of it within a second are
 * ignored; a later interrupt quits at once without saving (exit code 130).
 */
export function interruptListener(
  controller: AbortController,
  stderr: ProgressSink,
  exit: (code: number) => void = (code) => process.exit(code),
  now: () => number = Date.now,
): () => void {
  let first: number | null = null;
  return () => {
    const time = now();
    if (first === null) {
      first = time;
      stderr.write(
        '\ninterrupt: stopping at the next step and saving what can be resumed (run the same command again to resume; Ctrl+C again quits without saving)\n',
      );
      controller.abort();
    } else if (time - first >= REPEAT_MS) {
      stderr.write('\nsecond interrupt: quitting without saving\n');
      exit(130);
    }
  };
}

/** Runs `argv` as this process: Ctrl+C through interruptListener, exit code from main. */
export async function runProcess(argv: readonly string[], handlers?: CliIO['handlers']): Promise<void> {
  const controller = new AbortController();
  process.on('SIGINT', interruptListener(controller, process.stderr));
  process.exit(await main(argv, { stdout: process.stdout, stderr: process.stderr, signal: controller.signal, handlers }));
}

if (require.main === module) void runProcess(process.argv.slice(2));
