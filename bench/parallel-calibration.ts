/**
 * What two threads can get on this machine right now, for bench/parallel.ts: the throughput
 * ratio of 2 vs 1 worker threads each running a fixed loop (2.0 on two idle cores). Two loops:
 * pure JS (scalar) and 256×256 matMuls on the single-threaded tfjs wasm backend (SIMD, the
 * pool's own kind of work), since shared or hyper-threaded cores treat the two differently.
 */
import { Worker } from 'worker_threads';

const LOOPS = {
  js: 'let x = 0; for (let i = 0; i < 4e8; i++) x += i % 7;',
  wasm: 'for (let i = 0; i < 150; i++) tf.tidy(() => tf.matMul(a, b).dataSync());',
};

function script(loop: string): string {
  const tfjs = JSON.stringify(require.resolve('@tensorflow/tfjs'));
  const wasm = JSON.stringify(require.resolve('@tensorflow/tfjs-backend-wasm'));
  return `
    const { parentPort } = require('worker_threads');
    const tf = require(${tfjs}); require(${wasm});
    (async () => {
      await tf.setBackend('wasm');
      const a = tf.randomNormal([256, 256]); const b = tf.randomNormal([256, 256]);
      tf.matMul(a, b).dataSync();
      parentPort.postMessage('ready');
      parentPort.once('message', () => { ${loop} parentPort.postMessage('done'); });
    })();`;
}

/** Seconds for `n` threads, started and warmed up beforehand, to each run the loop once at the same time. */
async function timeThreads(n: number, loop: string): Promise<number> {
  const workers = Array.from({ length: n }, () => new Worker(script(loop), { eval: true }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    const started = performance.now();
    await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve) => {
            w.once('message', resolve);
            w.postMessage('go');
          }),
      ),
    );
    return (performance.now() - started) / 1000;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** 2·t(1) / t(2) for each loop, t(1) averaged over a run before and one after t(2). */
export async function twoThreadRatios(): Promise<{ js: number; wasm: number }> {
  const ratio = async (loop: string) => {
    const first = await timeThreads(1, loop);
    const two = await timeThreads(2, loop);
    const last = await timeThreads(1, loop);
    return (first + last) / two;
  };
  return { js: await ratio(LOOPS.js), wasm: await ratio(LOOPS.wasm) };
}
