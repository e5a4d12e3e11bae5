import * as tf from '@tensorflow/tfjs';
import { BackendError, ConfigError, MissingResourceError } from '../errors';
import { registerNativeWorkarounds } from './native-workarounds';
import { fastestMeasured, type MeasuredSpeeds, type Workload } from './measured-speeds';
import { quietNodeBackendAdvice } from './quiet-advice';
import { initWasmBackend } from './wasm';

/** Every backend a request can name; 'auto' tries them in the order autoOrder gives. */
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
  /** Native backends: the TensorFlow library's version, and whether it runs on a GPU. */
  tensorflowVersion?: string;
  gpu?: boolean;
  /** Why this backend: the request, or the measurement 'auto' went by. */
  reason: string;
  /** Backends tried before this one and why they could not be used. */
  skipped: { name: BackendName; reason: string }[];
}

export interface SelectOptions {
  /** What the run will mostly do, for 'auto' (default: the shipped tiny ViT, fwd+bwd at batch 25). */
  workload?: Workload;
}

const NATIVE_PACKAGES: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** The workload 'auto' assumes: the shipped backbone's size, at the zoo's and meta-training's batch. */
const SHIPPED_WORKLOAD: Workload = {
  model: { imageSize: 32, patchSize: 4, channels: 3, width: 192, depth: 4, mlpWidth: 768, projectionDim: 192 },
  batch: 25,
};

let current: BackendInfo | undefined;

/**
 * Activates the requested backend, or for 'auto' the fastest one present for the workload, and
 * reports it. Order: the argument, else $LORA_RECYCLE_BACKEND, else 'auto'. A named backend that
 * cannot start is an error; 'auto' falls through to the next one and records why. Once a backend
 * is chosen, tfjs' banner advising to install tfjs-node is silenced (the reasons say it all).
 */
export async function selectBackend(preferred?: BackendRequest, options: SelectOptions = {}): Promise<BackendInfo> {
  const request = preferred ?? parseRequest(process.env[BACKEND_ENV]);
  const plan = request === 'auto' ? autoOrder(options.workload ?? SHIPPED_WORKLOAD) : { order: [request], reason: 'requested' };
  const skipped: BackendInfo['skipped'] = [];
  for (const [index, name] of plan.order.entries()) {
    try {
      const started = await activate(name);
      const gpuProbe = request === 'auto' && index === 0 && name === 'tensorflow-gpu';
      if (gpuProbe && !started.gpu) {
        skipped.push({ name, reason: 'no GPU found: on the CPU the measured order decides' });
        continue;
      }
      const reason = started.gpu ? 'a GPU is present' : plan.reason;
      current = { ...started, name, tfjsName: tf.getBackend(), reason, skipped };
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

/**
 * The order 'auto' tries backends in: the GPU twin first, kept only if it finds a GPU; then the
 * native backend (tfjs-node, or the twin, which runs the same kernels on a CPU) and wasm in the
 * order the committed measurements give for the nearest measured workload
 * (assets/backend/speeds.json, from bench/engine.ts); then cpu. Set-up installs at most one of
 * the two native packages.
 */
export function autoOrder(workload: Workload, speeds?: MeasuredSpeeds): { order: BackendName[]; reason: string } {
  let measured: ReturnType<typeof fastestMeasured>;
  try {
    measured = fastestMeasured(workload, speeds);
  } catch (error) {
    if (!(error instanceof MissingResourceError)) throw error;
  }
  if (!measured) return { order: [...BACKEND_PREFERENCE], reason: 'no measurements: native first' };
  const { workload: w, order } = measured;
  const times = order.map((name) => `${name} ${w.ms[name]!.toFixed(0)} ms`).join(', ');
  const reason = `fastest measured for ${w.model} fwd+bwd at batch ${w.batch}: ${times} (assets/backend/speeds.json)`;
  const cpuOrder = order.flatMap((name): BackendName[] => (name === 'tensorflow' ? ['tensorflow', 'tensorflow-gpu'] : [name]));
  return { order: ['tensorflow-gpu', ...cpuOrder, 'cpu'], reason };
}

/**
 * What selectBackend('auto') would choose on this machine, in words, without loading any backend
 * (for banners: the Jupyter kernel prints it). Whether the GPU twin finds a GPU is only known once
 * it is loaded, so that case is named as a condition.
 */
export function autoChoiceText(workload: Workload = SHIPPED_WORKLOAD): string {
  const plan = autoOrder(workload);
  const installed = (name: BackendName) =>
    !(name in NATIVE_PACKAGES) || packageInstalled(NATIVE_PACKAGES[name as keyof typeof NATIVE_PACKAGES]);
  const onCpu = plan.order.slice(1).find(installed) ?? 'cpu';
  const gpu = installed('tensorflow-gpu') ? 'tensorflow-gpu if it finds a GPU, else ' : '';
  return `${gpu}${onCpu} (${plan.reason})`;
}

/** Whether `pkg` resolves from the library (native backends are optional packages set-up links in). */
export function packageInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
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

async function activate(name: BackendName): Promise<{ simd?: boolean; threads?: number; tensorflowVersion?: string; gpu?: boolean }> {
  if (name === 'wasm') {
    const wasm = await initWasmBackend();
    return { simd: wasm.simd, threads: wasm.threads };
  }
  if (name === 'cpu') {
    if (!(await tf.setBackend('cpu'))) throw new BackendError('tf.setBackend("cpu") returned false');
    return {};
  }
  const pkg = NATIVE_PACKAGES[name];
  if (!packageInstalled(pkg)) {
    throw new BackendError(`${pkg} is not installed (npm run setup builds it offline; LORA_RECYCLE_NATIVE=off skips it)`);
  }
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // TensorFlow's info lines (a few print on loading regardless)
  require(pkg); // registers the 'tensorflow' backend with the tfjs it depends on
  if (!(await tf.setBackend('tensorflow'))) throw new BackendError(`${pkg} loaded, but tf.setBackend("tensorflow") failed`);
  registerNativeWorkarounds();
  const native = tf.backend() as unknown as { isUsingGpuDevice?: boolean; binding?: { TF_Version?: string } };
  const gpu = Boolean(native.isUsingGpuDevice);
  return { tensorflowVersion: native.binding?.TF_Version, gpu };
}
