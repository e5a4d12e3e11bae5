import * as tf from '@tensorflow/tfjs';

/** TensorFlow's "SAME" padding of one axis: [before, after] so that the output has ⌈size / stride⌉ entries. */
export function samePadding(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** x [B, H, W, C] zero-padded as TensorFlow's "SAME" for a k×k kernel at `stride`. */
export function padSame(x: tf.Tensor4D, kernel: number, stride: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  return tf.pad(x, [[0, 0], samePadding(h, kernel, stride), samePadding(w, kernel, stride), [0, 0]]);
}

/**
 * Depthwise convolution with "SAME" padding: x [B, H, W, C], kernel [k, k, C, 1] →
 * [B, ⌈H/s⌉, ⌈W/s⌉, C]. tf.depthwiseConv2d where the backend has its input gradient; otherwise
 * (wasm) the same sum written as k² shifted, strided slices times per-channel weights, whose
 * gradients every backend has.
 */
export function depthwiseConvSame(x: tf.Tensor4D, kernel: tf.Tensor4D, stride: number): tf.Tensor4D {
  const k = kernel.shape[0];
  return tf.tidy(() => {
    const padded = padSame(x, k, stride);
    if (tf.getKernel('DepthwiseConv2dNativeBackpropInput', tf.getBackend()) !== undefined) {
      return tf.depthwiseConv2d(padded, kernel, stride, 'valid');
    }
    return shiftedDepthwise(padded, kernel, stride, Math.ceil(x.shape[1] / stride), Math.ceil(x.shape[2] / stride));
  });
}

/** Σ_{dy,dx} padded[:, s·i + dy, s·j + dx, c] · kernel[dy, dx, c] for a padded input. */
function shiftedDepthwise(padded: tf.Tensor4D, kernel: tf.Tensor4D, stride: number, outH: number, outW: number): tf.Tensor4D {
  const [b, , , c] = padded.shape;
  const k = kernel.shape[0];
  // room for a full stride-sized cell after the last tap, so every strided window is a reshape
  const roomy = tf.pad(padded, [
    [0, 0],
    [0, stride - 1],
    [0, stride - 1],
    [0, 0],
  ]);
  const taps = tf.unstack(tf.reshape(kernel, [k * k, c])); // [C] per (dy, dx)
  const terms: tf.Tensor4D[] = [];
  for (let dy = 0; dy < k; dy++) {
    for (let dx = 0; dx < k; dx++) {
      const window = tf.slice(roomy, [0, dy, dx, 0], [b, outH * stride, outW * stride, c]);
      const strided =
        stride === 1
          ? window
          : tf.reshape(tf.slice(tf.reshape(window, [b, outH, stride, outW, stride, c]), [0, 0, 0, 0, 0, 0], [b, outH, 1, outW, 1, c]), [
              b,
              outH,
              outW,
              c,
            ]);
      terms.push(tf.mul(strided, taps[dy * k + dx]) as tf.Tensor4D);
    }
  }
  return tf.addN(terms);
}
