import * as fs from 'fs';
import * as path from 'path';
import { MissingResourceError } from '../errors';

let cached: string | undefined;

/**
 * The directory of this package's package.json, found by walking up from this file, so shipped
 * assets resolve the same from src/ (tsx, vitest), dist/ (the build, tsconfig.build.json) and notebooks.
 */
export function packageRoot(): string {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'lora-recycle') {
      cached = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new MissingResourceError(`cannot find the lora-recycle package.json above ${__dirname}; shipped assets are resolved from it`);
    }
  }
}

/** Absolute path of a shipped asset, e.g. assetPath('backbone', 'tiny-vit.safetensors'). */
export function assetPath(...parts: string[]): string {
  return path.join(packageRoot(), 'assets', ...parts);
}
