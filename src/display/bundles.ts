/**
 * MIME bundle builders: plain data in (arrays, numbers, PNG data URLs — no tensors), a full
 * bundle out: the vendor payload for the JupyterLab extension, an `image/svg+xml` fallback and
 * `text/plain`. Each validates its payload first, so the library never emits one the extension
 * would refuse.
 */
import { MIME, PAYLOAD_VERSION } from './mime-types';
import type { CurvesPayload, EpisodePayload, GalleryPayload, PruningPayload, ZooPayload } from './payloads';
import { validateCurves, validateEpisode, validateGallery, validatePruning, validateZoo } from './validate';
import { episodeSvg, gallerySvg, pruningSvg, zooSvg } from './svg';
import { curvesSvg } from './svg-curves';
import { curvesText, episodeText, galleryText, pruningText, zooText } from './text';

export type MimeBundle = Record<string, unknown>;

/** A payload as builders take it: `version` may be left out. */
export type PayloadInput<P extends { version: 1 }> = Omit<P, 'version'> & { version?: 1 };

const DISPLAY = Symbol.for('Jupyter.display');

function build<P>(mime: string, payload: P, svg: (p: P) => string, text: (p: P) => string): MimeBundle {
  return { [mime]: payload, 'image/svg+xml': svg(payload), 'text/plain': text(payload) };
}

export function galleryBundle(input: PayloadInput<GalleryPayload>): MimeBundle {
  return build(MIME.gallery, validateGallery({ ...input, version: PAYLOAD_VERSION }), gallerySvg, galleryText);
}

export function pruningBundle(input: PayloadInput<PruningPayload>): MimeBundle {
  return build(MIME.pruning, validatePruning({ ...input, version: PAYLOAD_VERSION }), pruningSvg, pruningText);
}

export function curvesBundle(input: PayloadInput<CurvesPayload>): MimeBundle {
  return build(MIME.curves, validateCurves({ ...input, version: PAYLOAD_VERSION }), curvesSvg, curvesText);
}

export function episodeBundle(input: PayloadInput<EpisodePayload>): MimeBundle {
  return build(MIME.episode, validateEpisode({ ...input, version: PAYLOAD_VERSION }), episodeSvg, episodeText);
}

export function zooBundle(input: PayloadInput<ZooPayload>): MimeBundle {
  return build(MIME.zoo, validateZoo({ ...input, version: PAYLOAD_VERSION }), zooSvg, zooText);
}

/** A value that displays itself as `bundle` in Jupyter kernels that follow Deno's convention. */
export interface Displayable {
  readonly bundle: MimeBundle;
  [DISPLAY](): MimeBundle;
}

/** Wraps a bundle so that it shows as a cell's result: `asDisplay(galleryBundle(...))`. */
export function asDisplay(bundle: MimeBundle): Displayable {
  return { bundle, [DISPLAY]: () => bundle };
}
