import { spawnSync } from 'child_process';
import * as path from 'path';
import { describe, expect, it } from 'vitest';

const fixture = path.join(__dirname, 'fixtures', 'report-backend.ts');

/** Runs the fixture in a fresh Node process (the backend is chosen once per process). */
function runBackend(threadsEnv: string | undefined, ...args: string[]): Record<string, unknown> {
  const env = { ...process.env };
  if (threadsEnv === undefined) delete env.LORA_RECYCLE_WASM_THREADS;
  else env.LORA_RECYCLE_WASM_THREADS = threadsEnv;
  const child = spawnSync(process.execPath, ['--import', 'tsx', fixture, ...args], { env, encoding: 'utf8', timeout: 90_000 });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  expect(child.status, `${child.stderr.slice(0, 500)} ${line}`).toBe(0);
  return JSON.parse(line);
}

describe('wasm backend threads under Node', () => {
  it('runs the threaded-SIMD build with 2 threads when asked, with correct results', () => {
    const report = runBackend('2');
    expect(report).toMatchObject({ backend: 'wasm', simd: true, threads: 2, grad: [2, -4, 6] });
    expect(report.fallbackReason).toBeUndefined();
    expect(report.worst).toBeLessThan(1e-3);
  });

  it('stays single-threaded when LORA_RECYCLE_WASM_THREADS=0', () => {
    const report = runBackend('0');
    expect(report).toMatchObject({ backend: 'wasm', threads: 1, grad: [2, -4, 6] });
    expect(report.fallbackReason).toBeUndefined();
  });

  it('falls back to the single-threaded build when the threaded one cannot load', () => {
    const report = runBackend('2', '--no-shared-memory');
    expect(report).toMatchObject({ backend: 'wasm', threads: 1, grad: [2, -4, 6] });
    expect(String(report.fallbackReason)).toMatch(/SharedArrayBuffer/);
    expect(report.worst).toBeLessThan(1e-3);
  });

  it('rejects a malformed thread count with a ConfigError', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, LORA_RECYCLE_WASM_THREADS: 'two' },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(child.stdout).toMatch(/ConfigError.*LORA_RECYCLE_WASM_THREADS.*two/);
  });
});
