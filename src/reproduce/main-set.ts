import type { DatasetSpec } from '../data/dataset-spec';
import type { RunConfig } from './config';

/** The main domain's data set of a configuration (data.main; emoji when not named). */
export function mainSpec(config: RunConfig): DatasetSpec {
  return { ...(config.data.main ?? { loader: 'emoji' }), size: config.data.main?.size ?? config.data.imageSize };
}

/**
 * The episode set names of the main domain's validation and novel splits ("emoji-validation",
 * "glyph-domain-novel"): the names reports, the headline and the ports use.
 */
export function mainSets(config: RunConfig): { validation: string; novel: string } {
  const name = mainSpec(config).loader;
  return { validation: `${name}-validation`, novel: `${name}-novel` };
}
