/**
 * The display payloads' schema, free of Node and the DOM: MIME types, payload shapes and limits,
 * validators, and the episode caption both sides write. It is the package entry
 * `lora-recycle/display/schema` (package.json `exports`; the kernel maps the same name to
 * dist/display/schema), so the JupyterLab extension imports what the library emits by a declared
 * entry, not by a path into `src/`.
 */
export * from './mime-types';
export * from './payloads';
export { PayloadError } from './payload-error';
export * from './validate';
export { formatProbability, queryCaption, queryScores } from './episode-caption';
