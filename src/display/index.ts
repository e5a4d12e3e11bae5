/**
 * Display payloads of LoRA Recycle: MIME types, schemas, validators, bundle builders with
 * SVG/text fallbacks, PNG encoding and live curves. The JupyterLab extension imports only the
 * DOM- and Node-free parts (mime-types, payloads, validate).
 */
export * from './mime-types';
export * from './payloads';
export { PayloadError } from './payload-error';
export { PNG_DATA_URL_PREFIX } from './check';
export * from './validate';
export * from './bundles';
export { formatProbability, queryCaption, queryScores } from './episode-caption';
export { encodePng, imagesToPngDataUrls, pngDataUrlOf, crc32 } from './png';
export { escapeXml } from './svg';
export * from './live-curves';
