/** What the training scripts (train-backbone.ts, train-prior.ts) share: the optimiser part of a recipe. */
import { DEFAULT_ADAMW } from '../src/optim/adam';

export interface OptimiserRecipe {
  batchSize: number;
  peakLearningRate: number;
  floorLearningRate: number;
  warmupFraction: number;
  weightDecay: number;
}

/** AdamW with warm-up and cosine schedule over `epochs`, as pretrainBackbone and trainPrior take it. */
export function optimiserOptions(recipe: OptimiserRecipe, epochs: number) {
  return {
    epochs,
    batchSize: recipe.batchSize,
    peakLearningRate: recipe.peakLearningRate,
    floorLearningRate: recipe.floorLearningRate,
    warmupFraction: recipe.warmupFraction,
    adamw: { ...DEFAULT_ADAMW, weightDecay: recipe.weightDecay },
  };
}
