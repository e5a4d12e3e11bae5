import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { microConfig } from '../reproduce/micro-config';

// Every real CLI handler on a micro configuration (a random 2-block ViT at 32 px, the real emoji
// data): each command must free every tensor it made, so the count is the same after it as before.
const MICRO = microConfig();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-cli-memory-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sink() {
  const out: string[] = [];
  return {
    isTTY: false,
    write: (t: string) => {
      out.push(t);
    },
    text: () => out.join(''),
  };
}

async function run(argv: string[]): Promise<void> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(argv, { stdout, stderr });
  expect(code, `${argv[0]} failed: ${stderr.text()}`).toBe(0);
}

describe('CLI handlers free their tensors', () => {
  it('leaves the tensor count flat across zoo, invert, meta-train, evaluate and reproduce --estimate, run twice', async () => {
    const config = path.join(tmp, 'micro.json');
    fs.writeFileSync(config, JSON.stringify(MICRO));
    const zoo = path.join(tmp, 'zoo');
    const surrogates = path.join(tmp, 'surrogates');
    const meta = path.join(tmp, 'meta');
    const commands = [
      ['zoo', '--config', config, '--out', zoo],
      ['invert', '--config', config, '--zoo', zoo, '--out', surrogates],
      ['meta-train', '--config', config, '--zoo', zoo, '--surrogates', surrogates, '--out', meta, '--no-resume'],
      [
        'evaluate',
        '--config',
        config,
        '--zoo',
        zoo,
        '--meta',
        path.join(meta, 'meta-lora.safetensors'),
        '--methods',
        'nn,lora-recycle,linear-probe',
        '--out',
        path.join(tmp, 'metrics.json'),
      ],
      ['reproduce', '--estimate', '--from', path.join(__dirname, '..', '..', 'reports', 'quick.json'), '--out', path.join(tmp, 'reports')],
    ];
    for (let pass = 0; pass < 2; pass++) {
      for (const argv of commands) {
        const before = tf.memory().numTensors;
        await run(argv);
        expect(tf.memory().numTensors, `tensors left by ${argv[0]} (pass ${pass + 1})`).toBe(before);
      }
    }
  }, 600_000);
});
