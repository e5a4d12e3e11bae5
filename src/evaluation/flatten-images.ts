import * as tf from '@tensorflow/tfjs';
import type { FeatureFn } from './episode-accuracy';

/**
 * Each image as one row, [B, H, W, C] → [B, H·W·C]. As f(x) of normalised images it is the
 * raw-pixel baseline; it also reads back precomputed features stored as [n, 1, 1, D] maps
 * (tableEpisodeSource) and feeds a linear head features passed as such maps.
 */
export const flattenImages: FeatureFn = (images) => tf.reshape(images, [images.shape[0], -1]) as tf.Tensor2D;
