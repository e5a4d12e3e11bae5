import * as tf from '@tensorflow/tfjs';
import { asDisplay, episodeBundle, type Displayable } from '../display/bundles';
import { imagesToPngDataUrls } from '../display/png';
import { denormalizeImages } from '../model/preprocess';
import { featuresInBatches, type EpisodeTensors, type FeatureFn } from './episode-accuracy';
import { labelsAsArray, prototypeLogits, prototypes, type PrototypeDistance } from './prototypes';

export interface EpisodeViewOptions {
  classNames?: string[]; // the N ways, default "class i"
  title?: string;
  distance?: PrototypeDistance;
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
 * the extension's episode view: support images by class, then each query with its prediction and
 * the softmax probability of it (right and wrong marked). Leaves no tensors behind.
 */
export function episodeView(featureFn: FeatureFn, episode: EpisodeTensors, options: EpisodeViewOptions = {}): Displayable {
  const supportLabels = labelsAsArray(episode.supportLabels);
  const queryLabels = labelsAsArray(episode.queryLabels);
  const ways = Math.max(...supportLabels) + 1;
  const probabilities = tf.tidy(() => {
    const protos = prototypes(featuresInBatches(featureFn, episode.support), supportLabels, ways);
    return tf.softmax(prototypeLogits(featuresInBatches(featureFn, episode.query), protos, options.distance));
  });
  const p = probabilities.arraySync() as number[][];
  probabilities.dispose();
  const supportPngs = pngsOf(episode.support);
  const queryPngs = pngsOf(episode.query);
  return asDisplay(episodeBundle({
    title: options.title,
    classes: options.classNames ?? Array.from({ length: ways }, (_, i) => `class ${i}`),
    support: supportLabels.map((label, i) => ({ src: supportPngs[i], label })),
    query: queryLabels.map((label, i) => {
      const prediction = p[i].indexOf(Math.max(...p[i]));
      return { src: queryPngs[i], label, prediction, confidence: p[i][prediction] };
    }),
  }));
}
