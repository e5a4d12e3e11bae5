import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../adapters/lora';
import { projectionShape } from '../adapters/sites';
import { CompatibilityError, FileFormatError, MissingResourceError } from '../errors';
import type { ViTConfig } from '../model/config';
import { loadMetaCheckpoint } from './checkpoint';

/** Which meta-LoRA of a checkpoint: the run's result ('selected': best when validation ran, else last), 'best' or 'last'. */
export type CheckpointLoraChoice = 'selected' | 'best' | 'last';

/**
 * The meta-LoRA of a meta-training checkpoint as a frozen (unless `trainable`) LoRA; by default
 * the run's result: the best on validation, or the last when validation never ran. With
 * `config`, every factor is checked against the backbone. The caller owns the LoRA.
 */
export function loadCheckpointLora(
  file: string,
  options: { which?: CheckpointLoraChoice; config?: ViTConfig; trainable?: boolean } = {},
): LoRA {
  const checkpoint = loadMetaCheckpoint(file);
  const layout = checkpoint.lora;
  if (!layout) throw new CompatibilityError(`${file}: the meta-adapter of this run is not a LoRA, so it cannot be loaded as one`);
  const which = options.which ?? 'selected';
  if (which === 'best' && !checkpoint.best)
    throw new MissingResourceError(`${file}: no best meta-LoRA (validation never ran); ask for the last one`);
  const values = which === 'last' || !checkpoint.best ? checkpoint.last : checkpoint.best.variables;
  const { rank, scale, sites } = layout;
  if (values.length !== 2 * sites.length)
    throw new FileFormatError(file, `expected ${2 * sites.length} factors for ${sites.length} sites, found ${values.length}`);
  const dims = sites.map((site, i) => {
    const [inDim, outDim] = [values[2 * i].length / rank, values[2 * i + 1].length / rank];
    if (!Number.isInteger(inDim) || !Number.isInteger(outDim)) {
      throw new FileFormatError(
        file,
        `site ${site.layer}.${site.projection}: factors of ${values[2 * i].length} and ${values[2 * i + 1].length} values are not of rank ${rank}`,
      );
    }
    const expected = options.config && projectionShape(options.config, site.projection);
    if (expected && (site.layer >= options.config!.depth || inDim !== expected[0] || outDim !== expected[1])) {
      throw new CompatibilityError(
        `${file}: site ${site.layer}.${site.projection} has A [${inDim}, ${rank}], B [${rank}, ${outDim}], which do not fit this backbone`,
      );
    }
    return [inDim, outDim];
  });
  const factors = sites.map((site, i) => ({
    site,
    a: tf.tensor2d(values[2 * i], [dims[i][0], rank]),
    b: tf.tensor2d(values[2 * i + 1], [rank, dims[i][1]]),
  }));
  try {
    return LoRA.fromParameters({ rank, scale, factors }, { trainable: options.trainable ?? false });
  } finally {
    tf.dispose(factors.flatMap((f) => [f.a, f.b]));
  }
}
