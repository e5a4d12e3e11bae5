import * as tf from '@tensorflow/tfjs';
import { registerForActiveBackend, type TensorInfo } from './composite-kernel';
import { beginCall } from './wasm/runtime';

const FORWARD = 'LoraRecycleFusedAttention';
const BACKWARD = 'LoraRecycleFusedAttentionGrad';

/** Forward: q [B·Tq, D], k, v [B·T, D] → [output [B·Tq, D], P [B, H, Tq, T]] (kernels.c attention_forward). */
function forwardKernel(inputs: Record<string, TensorInfo>, backend: tf.KernelBackend, attrs: Record<string, unknown>): TensorInfo[] {
  const [B, Tq, T, H] = [attrs.batch, attrs.queryTokens, attrs.tokens, attrs.heads] as number[];
  const D = inputs.q.shape[1];
  const e = D / H;
  const call = beginCall(backend);
  const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((t) => call.input(t));
  const out = call.output([B * Tq, D]);
  const p = call.output([B, H, Tq, T]);
  call.run(
    'attention_forward',
    [B, Tq, T, H, e, q, k, v, out, p, call.scratch(e * T * call.parts), call.counter()],
    4 * B * H * Tq * T * e,
  );
  return call.finish();
}

/** Backward: q, k, v, P, dy (and dw, the gradient of P, if given) → [dq, dk, dv] (kernels.c attention_backward). */
function backwardKernel(inputs: Record<string, TensorInfo>, backend: tf.KernelBackend, attrs: Record<string, unknown>): TensorInfo[] {
  const [B, Tq, T, H] = [attrs.batch, attrs.queryTokens, attrs.tokens, attrs.heads] as number[];
  const D = inputs.q.shape[1];
  const e = D / H;
  const call = beginCall(backend);
  const [q, k, v, p, dy] = [inputs.q, inputs.k, inputs.v, inputs.p, inputs.dy].map((t) => call.input(t));
  const dw = inputs.dw ? call.input(inputs.dw) : 0;
  const [dq, dk, dv] = [
    [B * Tq, D],
    [B * T, D],
    [B * T, D],
  ].map((shape) => call.output(shape));
  call.run(
    'attention_backward',
    [B, Tq, T, H, e, q, k, v, p, dy, dw, dq, dk, dv, call.scratch((e * T + 2 * Tq * T) * call.parts), call.counter()],
    8 * B * H * Tq * T * e,
  );
  return call.finish();
}

let gradientRegistered = false;

function ensureRegistered(): void {
  registerForActiveBackend(FORWARD, forwardKernel);
  registerForActiveBackend(BACKWARD, backwardKernel);
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: FORWARD,
    inputsToSave: ['q', 'k', 'v'],
    outputsToSave: [false, true],
    gradFunc: (dys, saved, attrs) => {
      const [dOut, dWeights] = dys as Array<tf.Tensor | null>;
      const [q, k, v, p] = saved;
      // one kernel gives all three; computed here, not in a thunk (each thunk runs in its own tidy)
      const [dq, dk, dv] = tf.engine().runKernel(
        BACKWARD,
        {
          q,
          k,
          v,
          p,
          dy: dOut ?? tf.zerosLike(q),
          ...(dWeights ? { dw: dWeights } : {}),
        },
        attrs as never,
      ) as tf.Tensor[];
      return { q: () => dq, k: () => dk, v: () => dv };
    },
  });
}

/** softmax(q·kᵀ/√e)·v per (image, head) in one compiled kernel (src/ops/wasm): → output [B·Tq, D] and weights [B, H, Tq, T]. */
export function fusedAttention(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  sizes: { batch: number; queryTokens: number; tokens: number; heads: number },
): [tf.Tensor2D, tf.Tensor4D] {
  ensureRegistered();
  return tf.engine().runKernel(FORWARD, { q, k, v }, sizes as never) as unknown as [tf.Tensor2D, tf.Tensor4D];
}
