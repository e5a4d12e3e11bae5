/** What the training scripts (train-backbone.ts, train-prior.ts) share: arguments and the optimiser part of a recipe. */
import { DEFAULT_ADAMW } from '../src/optim/adam';

/** The value after `--name` on the command line, if any. */
export function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

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
