/**
 * One error class per kind of failure. Every message says what was expected and what was found.
 */

/** Base class: lets callers catch every error this library raises on purpose. */
export class LoraRecycleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor or array does not have the shape an operation needs. */
export class ShapeError extends LoraRecycleError {}

/** A file is corrupt, truncated, or not in the format it claims to be. */
export class FileFormatError extends LoraRecycleError {
  constructor(
    readonly path: string | undefined,
    detail: string,
  ) {
    super(path ? `${path}: ${detail}` : detail);
  }
}

/** Adapters, checkpoints or configurations that cannot be combined (targets, ranks, backbones). */
export class CompatibilityError extends LoraRecycleError {}

/** A configuration value is out of its valid range or of the wrong kind. */
export class ConfigError extends LoraRecycleError {}

/** Optional data, weights or a package is not installed; the message names what to install. */
export class MissingResourceError extends LoraRecycleError {}

/** A TensorFlow.js backend was asked for but cannot be loaded. */
export class BackendError extends LoraRecycleError {}

/** A long run was stopped through its AbortSignal; its state was saved where the message says. */
export class CancelledError extends LoraRecycleError {}
