import * as tf from '@tensorflow/tfjs';
import type { EpisodeTensors } from '../data/episodes';
import { asDisplay, episodeBundle, type Displayable } from '../display/bundles';
import { imagesToPngDataUrls } from '../display/png';
import { ConfigError } from '../errors';
import { denormalizeImages } from '../model/preprocess';
import { featuresInBatches, type FeatureFn } from './episode-accuracy';
import { labelsAsArray, prototypeLogits, prototypes, type PrototypeDistance } from './prototypes';

export interface EpisodeViewOptions {
  classNames?: string[]; // the N ways, default "class i"
  title?: string;
  distance?: PrototypeDistance; // the classifier's distance, default 'euclidean'
  /** What the classifier multiplies −distance by before its softmax (default 1). */
  logitScale?: number;
}

/** Per query: softmax(−scale·d) over the prototypes, the nearest class, and runner-up d − nearest d. */
function scores(distances: number[][], scale: number): { prediction: number; confidence: number; margin: number }[] {
  return distances.map((d) => {
    const order = d.map((_, c) => c).sort((a, b) => d[a] - d[b]);
    const nearest = d[order[0]];
    const weights = d.map((v) => Math.exp(-scale * (v - nearest))); // shifted: no overflow, no underflow of the largest
    const total = weights.reduce((a, b) => a + b, 0);
    return { prediction: order[0], confidence: weights[order[0]] / total, margin: order.length > 1 ? d[order[1]] - nearest : 0 };
  });
}

function pngsOf(images: tf.Tensor4D): string[] {
  const [n, h, w, c] = images.shape;
  const pixels = tf.tidy(() => denormalizeImages(images));
  try {
    return imagesToPngDataUrls(pixels.dataSync() as Float32Array, n, h, w, c);
  } finally {
    pixels.dispose();
  }
}

/**
 * An episode classified by nearest prototype under `featureFn` (e.g. backbone + meta-LoRA), as
 * the extension's episode view: support images by class, then each query with its prediction
 * (right and wrong marked), its confidence (softmax of −logitScale·distance over the prototypes,
 * the classifier's own scores) and its margin (distance to the runner-up prototype minus distance
 * to the predicted one); the view says so in its `scoring` line. Leaves no tensors behind.
 */
export function episodeView(featureFn: FeatureFn, episode: EpisodeTensors, options: EpisodeViewOptions = {}): Displayable {
  const supportLabels = labelsAsArray(episode.supportLabels);
  const queryLabels = labelsAsArray(episode.queryLabels);
  const ways = Math.max(...supportLabels) + 1;
  const distance = options.distance ?? 'euclidean';
  const scale = options.logitScale ?? 1;
  if (!(scale > 0 && Number.isFinite(scale))) throw new ConfigError(`episodeView: logitScale must be a positive number, found ${scale}`);
  const negatives = tf.tidy(() => {
    const protos = prototypes(featuresInBatches(featureFn, episode.support), supportLabels, ways);
    return prototypeLogits(featuresInBatches(featureFn, episode.query), protos, distance); // −d [Q, N]
  });
  const perQuery = scores(
    (negatives.arraySync() as number[][]).map((row) => row.map((v) => -v)),
    scale,
  );
  negatives.dispose();
  const supportPngs = pngsOf(episode.support);
  const queryPngs = pngsOf(episode.query);
  return asDisplay(
    episodeBundle({
      title: options.title,
      scoring:
        `p = softmax(−${scale === 1 ? '' : `${scale}·`}d) over the ${ways} prototypes, d = ${distance === 'euclidean' ? 'Euclidean' : 'squared Euclidean'} distance (the classifier's scores); ` +
        'Δd = distance to the runner-up prototype − distance to the predicted one',
      classes: options.classNames ?? Array.from({ length: ways }, (_, i) => `class ${i}`),
      support: supportLabels.map((label, i) => ({ src: supportPngs[i], label })),
      query: queryLabels.map((label, i) => ({ src: queryPngs[i], label, ...perQuery[i] })),
    }),
  );
}
