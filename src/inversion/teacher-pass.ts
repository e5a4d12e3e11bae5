import * as tf from '@tensorflow/tfjs';
import type { Teacher } from '../surrogate/set';
import type { PruningSchedule } from '../model/token-pruning';
import type { VisionTransformer } from '../model/vision-transformer';

export interface TeacherView {
  probabilities: number[][]; // [B][N] softmax of the teacher's head
  keptPatches: number[][] | null; // [B][n] surviving patch indices; null without pruning
}

/**
 * One forward of the teacher on un-jittered images, pruned by `pruning` when it is not empty
 * (the mask pass of method.md §1.4). images [B, H, W, C] normalised.
 */
export function teacherView(backbone: VisionTransformer, teacher: Teacher, images: tf.Tensor4D, pruning: PruningSchedule): TeacherView {
  const pruned = Object.keys(pruning).length > 0;
  let view: TeacherView = { probabilities: [], keptPatches: null };
  tf.tidy(() => {
    const { features, keptPatches } = backbone.forward(images, { adapter: teacher.adapter, pruning });
    view = {
      probabilities: tf.softmax(teacher.head.apply(features)).arraySync() as number[][],
      keptPatches: pruned ? (keptPatches.arraySync() as number[][]) : null,
    };
  });
  return view;
}
