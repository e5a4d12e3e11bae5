import * as tf from '@tensorflow/tfjs';

/**
 * Stops tfjs from printing its advice to install @tensorflow/tfjs-node (a banner the CPU backend
 * prints on its first use in Node). The documented switch for that is tfjs' PROD flag, which in
 * tfjs 4 only silences tfjs' own console warnings. Called once a backend is chosen: the choice,
 * and why faster backends were skipped, is then in BackendInfo (see selectBackend).
 */
export function quietNodeBackendAdvice(): void {
  tf.env().set('PROD', true);
}
