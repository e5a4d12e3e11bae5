/** Timed steps of the engine benchmark: forward, and forward+backward w.r.t. LoRA weights or pixels. */
import * as tf from '@tensorflow/tfjs';

export type Mode = 'forward' | 'fwdbwd_lora' | 'fwdbwd_pixels';
export const MODES: Mode[] = ['forward', 'fwdbwd_lora', 'fwdbwd_pixels'];

/** What the benchmark needs from a model: features of a batch, and the LoRA variables. */
export interface EngineModel {
  name: string;
  forward(images: tf.Tensor4D): tf.Tensor2D; // [B, H, W, C] → [B, F]
  trainableVariables(): tf.Variable[];
}

/**
 * One step of `mode` on `images`, in micro-batches of at most `microBatch` images whose
 * gradients are accumulated (LoRA) or concatenated (pixels). Reads results back (dataSync),
 * disposes everything it creates.
 */
export function runStep(model: EngineModel, mode: Mode, images: tf.Tensor4D, cotangent: tf.Tensor2D, microBatch: number): void {
  const b = images.shape[0];
  const chunks: [tf.Tensor4D, tf.Tensor2D][] = [];
  for (let start = 0; start < b; start += microBatch) {
    const size = Math.min(microBatch, b - start);
    chunks.push([tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]), tf.slice(cotangent, [start, 0], [size, -1])]);
  }
  const loss = (x: tf.Tensor4D, r: tf.Tensor2D) => tf.sum(tf.mul(model.forward(x), r)) as tf.Scalar;
  let result: tf.Tensor[] = [];
  for (const [x, r] of chunks) {
    const step = tf.tidy(() => {
      if (mode === 'forward') return [model.forward(x)];
      if (mode === 'fwdbwd_pixels') return [tf.grad((p: tf.Tensor) => loss(p as tf.Tensor4D, r))(x)];
      const { value, grads } = tf.variableGrads(() => loss(x, r), model.trainableVariables());
      return [value, ...Object.values(grads)];
    });
    if (mode === 'fwdbwd_lora' && result.length > 0) {
      const summed = result.map((t, i) => tf.add(t, step[i]));
      tf.dispose([...result, ...step]);
      result = summed;
    } else {
      result.push(...step);
    }
  }
  for (const t of result) t.dataSync();
  tf.dispose([...result, ...chunks.flat()]);
}

/** What the PyTorch side can time: the model steps, a chain of small ops, one large product. */
export type TimedMode = Mode | 'small_ops' | 'matmul';

/** `count` dependent additions on a 16-vector, read back: the per-op overhead of a backend. */
export function runSmallOps(count: number): void {
  tf.tidy(() => {
    let x: tf.Tensor = tf.ones([16]);
    for (let i = 0; i < count; i++) x = tf.add(x, 1);
    x.dataSync();
  });
}

/**
 * One n×n by n×n product, read back: a backend's large-kernel speed. (The values are not returned
 * from the tidy: tf.tidy walks whatever its function returns, element by element.)
 */
export function matMulStep(a: tf.Tensor2D, b: tf.Tensor2D): void {
  tf.tidy(() => {
    tf.matMul(a, b).dataSync();
  });
}
