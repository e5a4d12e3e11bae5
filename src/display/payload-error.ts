import { LoraRecycleError } from '../errors';

/** A display payload does not match its schema or exceeds a size limit; `path` locates the field. */
export class PayloadError extends LoraRecycleError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}
