import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import type { RunConfig } from '../../src/reproduce/config';

// Every real CLI handler on a micro configuration (a random 2-block ViT at 32 px, the real emoji
// data): each command must free every tensor it made, so the count is the same after it as before.
const MICRO: RunConfig = {
  name: 'micro',
  backbone: { source: 'random', config: { imageSize: 32, patchSize: 8, channels: 3, width: 32, depth: 2, heads: 2, mlpWidth: 64, projectionDim: 32, layerNormEps: 1e-5 }, seed: 1 },
  data: { imageSize: 32 },
  zoo: { size: 2, ways: 5, shots: 2, steps: 2, learningRate: 0.01, rank: 2 },
  inversion: { steps: 2, shots: 1, queries: 2, learningRate: 0.25, priorWeight: 0.01, pruning: {}, pruneStartFraction: 0.25 },
  metaTraining: { steps: 2, shots: 1, queries: 2, interpolatedFraction: 0.5, distance: 'euclidean', validateEvery: 2, checkpointEvery: 2, validationEpisodes: 1, flip: true },
  evaluation: { episodes: 2, ways: 5, shots: [1], queries: 2, sets: ['emoji-novel'], seed: 5 },
  baselines: { methods: ['nn', 'lora-recycle', 'linear-probe'], episodes: 1, tuningSteps: 1, learningRate: 0.001, fullTuningSteps: 1, fullLearningRate: 0.0001 },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-cli-memory-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sink() {
  const out: string[] = [];
  return { isTTY: false, write: (t: string) => { out.push(t); }, text: () => out.join('') };
}

async function run(argv: string[]): Promise<void> {
  const stdout = sink(); const stderr = sink();
  const code = await main(argv, { stdout, stderr });
  expect(code, `${argv[0]} failed: ${stderr.text()}`).toBe(0);
}

describe('CLI handlers free their tensors', () => {
  it('leaves the tensor count flat across zoo, invert, meta-train, evaluate and reproduce --estimate, run twice', async () => {
    const config = path.join(tmp, 'micro.json');
    fs.writeFileSync(config, JSON.stringify(MICRO));
    const zoo = path.join(tmp, 'zoo'); const surrogates = path.join(tmp, 'surrogates'); const meta = path.join(tmp, 'meta');
    const commands = [
      ['zoo', '--config', config, '--out', zoo],
      ['invert', '--config', config, '--zoo', zoo, '--out', surrogates],
      ['meta-train', '--config', config, '--zoo', zoo, '--surrogates', surrogates, '--out', meta, '--no-resume'],
      ['evaluate', '--config', config, '--zoo', zoo, '--meta', path.join(meta, 'meta-lora.safetensors'), '--methods', 'nn,lora-recycle,linear-probe', '--out', path.join(tmp, 'metrics.json')],
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
