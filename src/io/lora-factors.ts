import * as tf from '@tensorflow/tfjs';
import { siteKey, type AdapterSite } from '../model/adapter-hook';
import type { LoraFactors } from '../adapters/lora-parameters';
import { projectionShape } from '../adapters/sites';
import { FileFormatError } from '../errors';
import type { ViTConfig } from '../model/config';
import { PROJECTION_NAMES } from '../model/weights';
import { transposeValues } from './layouts';
import { parsePeftFactorName } from './peft-names';
import { type SafetensorsEntry, toFloat32 } from './safetensors';

interface HostFactor {
  site: AdapterSite;
  a: Float32Array;
  b: Float32Array;
  inDim: number;
  outDim: number;
}

/**
 * Collects PEFT-named factors (A [r, in], B [out, r]) from `tensors`, checks that they pair up,
 * share one rank and (with `config`) fit the backbone, and converts them to our layout
 * (a [in, r], b [r, out]). Names the predicate `skip` accepts are left alone; any other name that is
 * not a factor is an error. Tensors are created only once everything has been checked.
 */
export function factorsFromPeftTensors(
  tensors: Map<string, SafetensorsEntry>,
  file: string,
  config: ViTConfig | undefined,
  skip: (name: string) => boolean,
): { rank: number; factors: LoraFactors[] } {
  const bad = (detail: string): never => {
    throw new FileFormatError(file, detail);
  };
  const pairs = new Map<string, { site: AdapterSite; A?: SafetensorsEntry; B?: SafetensorsEntry; names: Record<string, string> }>();
  for (const [name, entry] of tensors) {
    if (skip(name)) continue;
    const parsed = parsePeftFactorName(name);
    if (!parsed) bad(`unexpected tensor "${name}" (expected base_model.model.vision_model.encoder.layers.{i}.<module>.lora_{A,B}.weight)`);
    const key = siteKey(parsed!.site);
    const pair = pairs.get(key) ?? { site: parsed!.site, names: {} };
    pair[parsed!.factor] = entry;
    pair.names[parsed!.factor] = name;
    pairs.set(key, pair);
  }
  if (pairs.size === 0) bad('no LoRA factors (lora_A / lora_B tensors) found');
  let rank: number | undefined;
  const host: HostFactor[] = [];
  for (const { site, A, B, names } of pairs.values()) {
    if (!A || !B) bad(`layer ${site.layer} ${site.projection}: found "${names.A ?? names.B}" without its lora_${A ? 'B' : 'A'} partner`);
    if (A!.shape.length !== 2 || B!.shape.length !== 2)
      bad(`"${names.A}" and "${names.B}" must be matrices, found [${A!.shape}] and [${B!.shape}]`);
    const [r, inDim] = A!.shape;
    const [outDim, rB] = B!.shape;
    if (rB !== r) bad(`"${names.B}": expected shape [out, ${r}] to match lora_A's rank ${r}, found [${B!.shape}]`);
    if (rank !== undefined && r !== rank) bad(`"${names.A}": rank ${r} differs from the rank ${rank} of other sites (one rank per file)`);
    rank = r;
    if (config) {
      if (site.layer >= config.depth) bad(`"${names.A}": layer ${site.layer} does not exist in a ${config.depth}-layer backbone`);
      const [expectIn, expectOut] = projectionShape(config, site.projection);
      if (inDim !== expectIn || outDim !== expectOut) {
        bad(
          `layer ${site.layer} ${site.projection}: the backbone needs lora_A [${r}, ${expectIn}] and lora_B [${expectOut}, ${r}], found [${A!.shape}] and [${B!.shape}]`,
        );
      }
    }
    host.push({
      site,
      inDim,
      outDim,
      a: transposeValues(toFloat32(A!), r, inDim),
      b: transposeValues(toFloat32(B!), outDim, r),
    });
  }
  host.sort(
    (x, y) => x.site.layer - y.site.layer || PROJECTION_NAMES.indexOf(x.site.projection) - PROJECTION_NAMES.indexOf(y.site.projection),
  );
  return {
    rank: rank!,
    factors: host.map((h) => ({
      site: h.site,
      a: tf.tensor2d(h.a, [h.inDim, rank!]),
      b: tf.tensor2d(h.b, [rank!, h.outDim]),
    })),
  };
}
