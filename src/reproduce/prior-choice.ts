import { efficientNetPriorPath } from '../prior/efficientnet-file';
import { SHIPPED_PRIOR_FILE } from '../prior/prior-file';
import { shippedGlyphVaePath } from '../prior/glyph-vae-file';
import { assetPath } from '../paths';
import type { RunConfig } from './config';

/**
 * The file of the CNN whose BatchNorm statistics regularise a run's inversions (R_BN, method.md
 * §1.3): the shipped glyph CNN, or the ImageNet EfficientNet-Lite0 converted at set-up; none when
 * λ_BN is 0. Jobs load either kind with loadPrior.
 */
export function inversionPriorFile(inversion: RunConfig['inversion']): string | undefined {
  if (inversion.priorWeight <= 0) return undefined;
  return inversion.prior === 'efficientnet-lite0' ? efficientNetPriorPath() : assetPath(...SHIPPED_PRIOR_FILE);
}

/** The file of the generator a run's inversions draw through (inversion.generator), if any. */
export function inversionGeneratorFile(inversion: RunConfig['inversion']): string | undefined {
  return inversion.generator === 'glyph-vae' ? shippedGlyphVaePath() : undefined;
}
