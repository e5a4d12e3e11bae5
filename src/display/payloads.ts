/**
 * JSON shapes of the display payloads (one per MIME type in ./mime-types) and their size limits.
 * Images travel as small PNG data URLs (`data:image/png;base64,...`, e.g. 32×32); masks as 0/1
 * arrays over the patch grid, row-major (index = row·cols + col), 1 = patch kept.
 */

/** Upper bounds every validator enforces: payloads are untrusted input to the browser. */
export const LIMITS = {
  /** characters of a name, label, title or id */
  stringLength: 200,
  /** characters of one PNG data URL (a 64×64 RGB PNG is far below) */
  dataUrlLength: 100_000,
  /** images in one gallery snapshot */
  imagesPerSnapshot: 400,
  /** snapshots in one gallery */
  snapshots: 100,
  /** images summed over all snapshots of one gallery */
  galleryImages: 5_000,
  /** classes named by a gallery, episode or zoo entry */
  classes: 1_000,
  /** patches of a patch grid (rows·cols) */
  patches: 4_096,
  /** images in a pruning view */
  pruningImages: 32,
  /** layers in one pruning record */
  layers: 64,
  /** series in a curves payload */
  series: 24,
  /** points in one series */
  points: 20_000,
  /** support + query images in an episode */
  episodeImages: 1_000,
  /** LoRAs in a zoo */
  loras: 2_000,
  /** entries of one tuning record */
  recordEntries: 32,
} as const;

/** Patch grid of the ViT: an image of H×W pixels with patch size p has rows = H/p, cols = W/p. */
export interface PatchGrid {
  rows: number;
  cols: number;
}

// ---------------------------------------------------------------- gallery (inverted images)

export interface GalleryImage {
  /** index into `classes`: the target class y* the image was inverted for */
  classIndex: number;
  /** 0-based sample number within its class */
  sample: number;
  /** PNG data URL */
  src: string;
  /** target confidence: the teacher's p(y* | x̂) for the image's own target class, in [0, 1] */
  confidence?: number;
  /** 0/1 per patch (rows·cols), 1 = kept by token pruning; needs `patchGrid` */
  mask?: number[];
}

export interface GallerySnapshot {
  /** inversion step the images were taken at */
  step: number;
  images: GalleryImage[];
}

export interface GalleryPayload {
  version: 1;
  title?: string;
  classes: string[];
  patchGrid?: PatchGrid;
  /** in step order; the slider moves over them */
  snapshots: GallerySnapshot[];
}

// ---------------------------------------------------------------- pruning (kept tokens per layer)

export interface PruningLayer {
  /** 0-based transformer layer after whose attention tokens were pruned */
  layer: number;
  /** 0/1 per patch (rows·cols), 1 = token still present after this layer */
  kept: number[];
}

export interface PruningImage {
  src: string;
  label?: string;
  layers: PruningLayer[];
}

export interface PruningPayload {
  version: 1;
  title?: string;
  patchGrid: PatchGrid;
  images: PruningImage[];
}

// ---------------------------------------------------------------- curves (training metrics)

export type CurveSplit = 'train' | 'validation';

export interface CurveSeries {
  /** metric name, e.g. "loss", "accuracy", "lr": series with the same metric share one panel */
  metric: string;
  split: CurveSplit;
  /** steps (x), same length as `y` */
  x: number[];
  y: number[];
}

export interface CurvesPayload {
  version: 1;
  title?: string;
  /** id of the run the curves belong to */
  run?: string;
  /** true while the run is going on */
  running?: boolean;
  /** true when the front end may offer a Stop button (while `running`) */
  stoppable?: boolean;
  xLabel?: string;
  series: CurveSeries[];
}

// ---------------------------------------------------------------- episode (support / query)

export interface EpisodeSupportImage {
  src: string;
  /** index into `classes` */
  label: number;
}

export interface EpisodeQueryImage extends EpisodeSupportImage {
  /** predicted class index */
  prediction?: number;
  /** probability of the predicted class in [0, 1] (what it is: EpisodePayload.scoring) */
  confidence?: number;
  /** distance to the runner-up class's prototype minus distance to the predicted one (≥ 0) */
  margin?: number;
}

export interface EpisodePayload {
  version: 1;
  title?: string;
  /** one line saying what `confidence` and `margin` are */
  scoring?: string;
  /** the N ways of the episode */
  classes: string[];
  support: EpisodeSupportImage[];
  query: EpisodeQueryImage[];
}

// ---------------------------------------------------------------- zoo (pre-tuned LoRAs)

export interface ZooLora {
  id: string;
  classes: string[];
  rank?: number;
  targets?: string[];
  /** tuning record: steps, final loss, accuracy, seconds, ... */
  record?: Record<string, number | string>;
}

export interface ZooPayload {
  version: 1;
  title?: string;
  backbone?: string;
  loras: ZooLora[];
}

export interface PayloadByKind {
  gallery: GalleryPayload;
  pruning: PruningPayload;
  curves: CurvesPayload;
  episode: EpisodePayload;
  zoo: ZooPayload;
}
