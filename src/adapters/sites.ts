import type { ViTConfig } from '../model/config';
import { PROJECTION_NAMES, type ProjectionName } from '../model/weights';
import { ConfigError } from '../errors';
import type { AdapterSite } from '../model/adapter-hook';

/** Input and output sizes of a projection of a block. */
export function projectionShape(config: ViTConfig, projection: ProjectionName): [number, number] {
  if (projection === 'fc1') return [config.width, config.mlpWidth];
  if (projection === 'fc2') return [config.mlpWidth, config.width];
  return [config.width, config.width];
}

/** Every (layer, projection) pair for `targets` in every block, validated. */
export function sitesFor(config: ViTConfig, targets: readonly ProjectionName[]): AdapterSite[] {
  if (targets.length === 0) throw new ConfigError('adapter targets must name at least one projection');
  for (const t of targets) {
    if (!PROJECTION_NAMES.includes(t)) {
      throw new ConfigError(`unknown adapter target "${t}"; expected one of ${PROJECTION_NAMES.join(', ')}`);
    }
  }
  return Array.from({ length: config.depth }, (_, layer) => targets.map((projection) => ({ layer, projection }))).flat();
}
