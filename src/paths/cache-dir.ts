import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from './package-root';

/** Environment variable naming the data cache directory (overrides every default). */
const DATA_DIR_ENV = 'LORA_RECYCLE_DATA_DIR';

/**
 * The data cache directory for an environment: $LORA_RECYCLE_DATA_DIR; else `packageCache` when
 * given (an existing cache inside the package, kept so that it is not built again); else the
 * user's cache directory, $XDG_CACHE_HOME/lora-recycle/data or `home`/.cache/lora-recycle/data.
 */
export function resolveCacheDir(env: NodeJS.ProcessEnv, home: string, packageCache: string | null): string {
  const override = env[DATA_DIR_ENV];
  if (override) return path.resolve(override);
  if (packageCache) return packageCache;
  const xdg = env.XDG_CACHE_HOME;
  const userCache = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.cache');
  return path.join(userCache, 'lora-recycle', 'data');
}

/** Where built data sets live (see resolveCacheDir). */
export function defaultCacheDir(): string {
  // Where the data used to be cached by default: .cache/data of the package (still used if present).
  const packageCache = path.join(packageRoot(), '.cache', 'data');
  return resolveCacheDir(process.env, os.homedir(), fs.existsSync(packageCache) ? packageCache : null);
}
