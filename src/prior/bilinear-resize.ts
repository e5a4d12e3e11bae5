import * as tf from '@tensorflow/tfjs';
import { matMul2d } from '../ops';

/**
 * The [outSize, inSize] matrix of 1-D linear interpolation with half-pixel centres and clamped
 * edges (PyTorch's interpolate(mode='bilinear', align_corners=False), TF's half_pixel_centers):
 * output i samples the input at (i + ½)·in/out − ½.
 */
export function bilinearMatrix(inSize: number, outSize: number): tf.Tensor2D {
  const values = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const source = Math.max((i + 0.5) * scale - 0.5, 0);
    const low = Math.min(Math.floor(source), inSize - 1);
    const high = Math.min(low + 1, inSize - 1);
    const fraction = source - low;
    values[i * inSize + low] += 1 - fraction;
    values[i * inSize + high] += fraction;
  }
  return tf.tensor2d(values, [outSize, inSize]);
}

/**
 * Bilinear resize of x [B, H, W, C] to [B, height, width, C] as two matrix products (rows, then
 * columns): exact in value and in gradient on every backend (tf.image.resizeBilinear's gradient
 * kernels ignore halfPixelCenters).
 */
export function resizeBilinear(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const rows = matMul2d(bilinearMatrix(h, height), tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, b * w * c]) as tf.Tensor2D); // [height, B·W·C]
    const byColumn = tf.reshape(tf.transpose(tf.reshape(rows, [height, b, w, c]), [2, 0, 1, 3]), [w, height * b * c]) as tf.Tensor2D;
    const columns = matMul2d(bilinearMatrix(w, width), byColumn); // [width, height·B·C]
    return tf.transpose(tf.reshape(columns, [width, height, b, c]), [2, 1, 0, 3]) as tf.Tensor4D;
  });
}
