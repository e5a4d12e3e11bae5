import * as tf from '@tensorflow/tfjs';
import type { FeatureFn } from './episode-accuracy';

/** The raw-pixel baseline: f(x) = the normalised image flattened, [B, H·W·C]. */
export const rawPixelFeatures: FeatureFn = (images) => tf.reshape(images, [images.shape[0], -1]) as tf.Tensor2D;
