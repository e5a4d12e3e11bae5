import { packageInstalled, selectBackend, type BackendName } from '../src/backend';

/** Runs a whole test pass on one backend: `LORA_RECYCLE_TEST_BACKEND=tensorflow npx vitest run`. */
export const TEST_BACKEND_ENV = 'LORA_RECYCLE_TEST_BACKEND';

/**
 * Activates the backend a test file runs on: the one it names (`cpu` or `wasm`), unless
 * $LORA_RECYCLE_TEST_BACKEND names another for the whole pass. scripts/test.sh runs the files
 * that call this once more on the native `tensorflow` backend, with the same tolerances.
 */
export async function useTestBackend(fallback: BackendName): Promise<BackendName> {
  const requested = process.env[TEST_BACKEND_ENV];
  const name = (requested === undefined || requested === '' ? fallback : requested) as BackendName;
  return (await selectBackend(name)).name;
}

/**
 * ['tensorflow'] where set-up built the native backend (scripts/setup-native.sh). Under CI it is
 * expected unless set-up was told to skip it (LORA_RECYCLE_NATIVE=off), so a broken build fails
 * the suites that compare against it instead of skipping them.
 */
export function nativeTestBackends(): 'tensorflow'[] {
  const skippedOnPurpose = process.env.LORA_RECYCLE_NATIVE === 'off';
  if (packageInstalled('@tensorflow/tfjs-node')) return ['tensorflow'];
  return process.env.CI === 'true' && !skippedOnPurpose ? ['tensorflow'] : [];
}
