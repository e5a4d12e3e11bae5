/**
 * Run by test/native/gpu-twin.sh once set-up has installed the GPU twin (@tensorflow/tfjs-node-gpu)
 * on a machine without a GPU: it must load, say that it found no GPU, run on the CPU, and give the
 * cpu backend's numbers. Prints one line per check; exits non-zero on the first failure.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';
import { TINY_VIT, VisionTransformer } from '../../src/model';

function check(name: string, ok: boolean, detail: string): void {
  console.log(`${ok ? 'ok' : 'FAILED'} ${name}: ${detail}`);
  if (!ok) process.exit(1);
}

async function main(): Promise<void> {
  const auto = await selectBackend('auto');
  const probe = auto.skipped.find((s) => s.name === 'tensorflow-gpu');
  check('auto says there is no GPU', probe !== undefined && /no GPU found/.test(probe.reason), JSON.stringify(auto.skipped));
  const twin = await selectBackend('tensorflow-gpu');
  check('the twin loads TensorFlow', /^2\.21\./.test(twin.tensorflowVersion ?? ''), `TensorFlow ${twin.tensorflowVersion}`);
  check('the twin runs on the CPU', twin.gpu === false, `gpu: ${twin.gpu}`);
  const model = VisionTransformer.random(TINY_VIT, 3);
  const images = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const onTwin = model.forward(images).features.arraySync() as number[][];
  await selectBackend('cpu');
  const onCpu = model.forward(images).features.arraySync() as number[][];
  const diff = Math.max(...onTwin.flat().map((v, i) => Math.abs(v - onCpu.flat()[i])));
  check("the twin gives the cpu backend's features", diff < 1e-4, `max |Δ| ${diff.toExponential(2)}`);
}

main().catch((error) => {
  console.log(`FAILED: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
