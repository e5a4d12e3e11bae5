/**
 * Display payloads of LoRA Recycle: MIME types, schemas, validators, bundle builders with
 * SVG/text fallbacks, PNG encoding and live curves. The JupyterLab extension imports only the
 * DOM- and Node-free schema (./schema, the package entry `lora-recycle/display/schema`).
 */
export * from './schema';
export { PNG_DATA_URL_PREFIX } from './check';
export * from './bundles';
export { encodePng, imagesToPngDataUrls, pngDataUrlOf, crc32 } from './png';
export { escapeXml } from './svg';
export * from './live-curves';
