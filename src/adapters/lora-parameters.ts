import type * as tf from '@tensorflow/tfjs';
import type { AdapterSite } from '../model/adapter-hook';

/**
 * The plain data of a LoRA (what files hold): per site ΔW = scale · A·B.
 * Layout is ours ([in, r] and [r, out]); PEFT stores lora_A.weight as [r, in] and
 * lora_B.weight as [out, r], and the loaders in src/io transpose.
 */
export interface LoraFactors {
  site: AdapterSite;
  a: tf.Tensor2D; // [in, r]
  b: tf.Tensor2D; // [r, out]
}

export interface LoraParameters {
  rank: number;
  /** Multiplies A·B; 1 in the paper (no α/r scaling), α/r for PEFT adapters. */
  scale: number;
  factors: LoraFactors[];
}
