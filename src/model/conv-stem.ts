import * as tf from '@tensorflow/tfjs';
import { conv3x3, meanPool2x2, quickGelu } from '../ops';
import type { ConvWeights } from './weights';

/**
 * The early-convolution stem (ViTConfig.convStem): each stage is a 3×3 convolution with bias,
 * QuickGELU and a 2×2 mean pool, so k stages shrink the image by 2^k = patchSize. The last map has
 * one position per patch: images [B, H, W, C] → rows [B·P, C_last], patches in row-major order
 * (extractPatches' order). Built from conv3x3 and meanPool2x2, so its gradients, with respect to
 * the pixels and the kernels, run on every backend.
 */
export function convStemRows(images: tf.Tensor4D, stem: readonly ConvWeights[]): tf.Tensor2D {
  return tf.tidy(() => {
    let x = images;
    for (const stage of stem) x = meanPool2x2(quickGelu(tf.add(conv3x3(x, stage.kernel), stage.bias) as tf.Tensor4D));
    const [b, h, w, c] = x.shape;
    return tf.reshape(x, [b * h * w, c]) as tf.Tensor2D;
  });
}
