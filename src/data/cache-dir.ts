import * as path from 'path';

/** Where built data sets live: $LORA_RECYCLE_DATA_DIR, else .cache/data of the package root. */
export function defaultCacheDir(): string {
  return process.env.LORA_RECYCLE_DATA_DIR ?? path.resolve(__dirname, '..', '..', '.cache', 'data');
}
