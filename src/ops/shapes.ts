import type * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';

/** Throws a ShapeError unless `t` has rank `rank`; `what` names the argument in the message. */
export function expectRank(t: tf.Tensor, rank: number, what: string): void {
  if (t.rank !== rank) {
    throw new ShapeError(`${what} must have rank ${rank}, found shape [${t.shape.join(', ')}]`);
  }
}

/** Throws a ShapeError unless `found` equals `expected`. */
export function expectSize(found: number, expected: number, what: string): void {
  if (found !== expected) throw new ShapeError(`${what} must be ${expected}, found ${found}`);
}
