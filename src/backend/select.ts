import * as tf from '@tensorflow/tfjs';
import { BackendError, ConfigError } from '../errors';
import { quietNodeBackendAdvice } from './quiet-advice';
import { initWasmBackend } from './wasm';

/** Backends in order of speed on a CPU machine; native ones are optional npm packages. */
export const BACKEND_PREFERENCE = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_PREFERENCE)[number];
export type BackendRequest = BackendName | 'auto';

/** Environment variable overriding the choice: auto | tensorflow-gpu | tensorflow | wasm | cpu. */
export const BACKEND_ENV = 'LORA_RECYCLE_BACKEND';

export interface BackendInfo {
  name: BackendName;
  /** tfjs' own name of the active backend ('tensorflow', 'wasm', 'cpu'). */
  tfjsName: string;
  simd?: boolean;
  threads?: number;
  /** Faster backends that were tried and why they could not be used. */
  skipped: { name: BackendName; reason: string }[];
}

const NATIVE_PACKAGES: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

let current: BackendInfo | undefined;

/**
 * Activates the fastest backend present (or the requested one) and reports it.
 * Order: the argument, else $LORA_RECYCLE_BACKEND, else 'auto'. A named backend that cannot
 * start is an error; 'auto' falls through to the next one and records why. Once a backend is
 * chosen, tfjs' banner advising to install tfjs-node is silenced (the skipped reasons say it).
 */
export async function selectBackend(preferred?: BackendRequest): Promise<BackendInfo> {
  const request = preferred ?? parseRequest(process.env[BACKEND_ENV]);
  const candidates: readonly BackendName[] = request === 'auto' ? BACKEND_PREFERENCE : [request];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      current = { ...(await activate(name)), name, tfjsName: tf.getBackend(), skipped };
      quietNodeBackendAdvice();
      return current;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (request !== 'auto') throw new BackendError(`backend "${name}" could not start: ${reason}`);
      skipped.push({ name, reason });
    }
  }
  throw new BackendError(`no backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** The backend chosen by the last selectBackend call. */
export function currentBackend(): BackendInfo {
  if (!current) throw new BackendError('no backend selected yet: call selectBackend() first');
  return current;
}

/** A backend name from text (environment, command line); `where` names the source in errors. */
export function parseRequest(raw: string | undefined, where = BACKEND_ENV): BackendRequest {
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if ((BACKEND_PREFERENCE as readonly string[]).includes(raw)) return raw as BackendName;
  throw new ConfigError(`${where} must be one of auto, ${BACKEND_PREFERENCE.join(', ')}; found "${raw}"`);
}

async function activate(name: BackendName): Promise<{ simd?: boolean; threads?: number }> {
  if (name === 'wasm') {
    const wasm = await initWasmBackend();
    return { simd: wasm.simd, threads: wasm.threads };
  }
  if (name === 'cpu') {
    if (!(await tf.setBackend('cpu'))) throw new BackendError('tf.setBackend("cpu") returned false');
    return {};
  }
  const pkg = NATIVE_PACKAGES[name];
  try {
    require.resolve(pkg);
  } catch {
    throw new BackendError(`${pkg} is not installed (optional: npm install ${pkg})`);
  }
  require(pkg); // registers the 'tensorflow' backend with the tfjs it depends on
  if (!(await tf.setBackend('tensorflow'))) throw new BackendError(`${pkg} loaded, but tf.setBackend("tensorflow") failed`);
  return {};
}
