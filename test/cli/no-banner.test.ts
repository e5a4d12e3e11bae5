import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { microConfig } from '../reproduce/micro-config';

// The CLI picks its backend itself (src/backend/select.ts); tfjs' banner advising to install
// tfjs-node must then not appear in its output, even on the CPU backend that prints it.
const MICRO = microConfig({
  vit: { depth: 1 },
  zoo: { size: 1, shots: 1, steps: 1 },
  inversion: { steps: 1, queries: 1, priorWeight: 0 },
  metaTraining: { steps: 1, queries: 1, validateEvery: 1, checkpointEvery: 1 },
  evaluation: { episodes: 1, queries: 1 },
  baselines: { methods: ['nn'] },
});
const BANNER = /install our node backend|looks like you are running TensorFlow\.js in Node/;
const MAIN = path.join(__dirname, '..', '..', 'src', 'cli', 'main.ts');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-cli-banner-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const child = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, LORA_RECYCLE_BACKEND: 'cpu' },
  });
  return { status: child.status, output: `${child.stdout}${child.stderr}` };
}

describe('the CLI output', () => {
  it('has no tfjs-node banner for --help', () => {
    const run = cli(['--help']);
    expect(run.status).toBe(0);
    expect(run.output).not.toMatch(BANNER);
  });

  it('has no tfjs-node banner for a command computing on the CPU backend', () => {
    const config = path.join(tmp, 'micro.json');
    fs.writeFileSync(config, JSON.stringify(MICRO));
    const run = cli(['evaluate', '--config', config, '--methods', 'nn', '--episodes', '1', '--out', path.join(tmp, 'metrics.json')]);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/nn: .* over 1 episodes/);
    expect(run.output).not.toMatch(BANNER);
  });
});
