import * as tf from '@tensorflow/tfjs';
import { loadRunConfig } from '../src/reproduce/config';
import { profileFor } from '../src/reproduce/profiles';
import { createPorts } from '../src/reproduce/wiring';
import { invertLora } from '../src/inversion';
import { loadTeacher } from '../src/parallel/invert-job';
import { zooEntryFile } from '../src/zoo';
import { loadPrior } from '../src/prior/prior-file';
import { inversionPriorFile } from '../src/reproduce/prior-choice';
import { strokeCanvas } from '../src/inversion/canvas';

async function main() {
  const base = loadRunConfig('configs/glyph-domain.json');
  const config = profileFor('standard', base).config;
  const ports = createPorts({});
  const backbone = await ports.loadBackbone(config);
  console.log('backend', tf.getBackend());
  const { teacher } = loadTeacher(zooEntryFile('reports/standard-run/zoo', 'lora-0000'), backbone.config);
  const priorFile = inversionPriorFile(config.inversion);
  const prior = priorFile ? loadPrior(priorFile) : null;
  for (const [label, p, steps] of [['prior', prior, 20], ['noprior', null, 20], ['prior', prior, 20]] as const) {
    const t0 = performance.now();
    const r = await invertLora(backbone, teacher, p, { ways: 5, shots: 1, queries: 5, steps, learningRate: 0.01, priorWeight: p ? 0.01 : 0, strokes: 8, seed: 1 });
    console.log(label, steps, 'steps', ((performance.now() - t0) / 1000).toFixed(2), 's; its', r.iterationsPerSecond);
    r.dispose();
  }
  const canvas = strokeCanvas(30, 32, 3, 8, 1);
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) tf.tidy(() => { const { grads } = tf.variableGrads(() => tf.sum(canvas.render()) as tf.Scalar, canvas.variables); Object.values(grads).forEach(g => g.dataSync()); });
  console.log('render fwd+bwd 20x', ((performance.now() - t0) / 1000).toFixed(2));
  const imgs = tf.randomNormal([30, 32, 32, 3]) as tf.Tensor4D;
  const t1 = performance.now();
  for (let i = 0; i < 20; i++) tf.tidy(() => { const g = tf.grad((x: tf.Tensor) => tf.sum(backbone.forward(x as tf.Tensor4D, { adapter: teacher.adapter } as never).features))(imgs); g.dataSync(); });
  console.log('vit fwd+bwd 20x', ((performance.now() - t1) / 1000).toFixed(2));
  if (prior) { const t2 = performance.now();
  for (let i = 0; i < 20; i++) tf.tidy(() => { const g = tf.grad((x: tf.Tensor) => (prior as any).loss ? (prior as any).loss(x) : tf.scalar(0))(imgs); g.dataSync(); });
  console.log('prior fwd+bwd 20x', ((performance.now() - t2) / 1000).toFixed(2), Object.keys(prior)); }
}
main();
