import type * as tf from '@tensorflow/tfjs';
import type { Adapter } from '../model/adapter-hook';

/** What meta-training needs of the backbone (VisionTransformer satisfies it). */
export interface FeatureModel {
  forward(images: tf.Tensor4D, options?: { adapter?: Adapter | null; patchPositions?: tf.Tensor2D }): { features: tf.Tensor2D };
}
