export { assetPath, packageRoot } from './package-root';
export { defaultCacheDir } from './cache-dir';
