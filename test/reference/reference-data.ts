import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * The PyTorch reference (test/reference/make_reference.py), generated with the repository's venv,
 * offline (nothing is downloaded: every model is built from a config).
 */

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const VENV_PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const SCRIPT = path.join(__dirname, 'make_reference.py');

/** Why the reference cannot be built here, or null if the venv is present. */
export function missingVenvReason(): string | null {
  return fs.existsSync(VENV_PYTHON)
    ? null
    : `the PyTorch reference checks need ${VENV_PYTHON}, which is missing (scripts/setup.sh creates the Python venv)`;
}

/**
 * Runs make_reference.py (≈ 20 s) into `outDir` (new or empty); `exportDir` holds the
 * files the TypeScript writers saved for transformers + PEFT to run (see make_reference.py).
 */
export function generateReference(outDir: string, exportDir: string): void {
  try {
    execFileSync(VENV_PYTHON, [SCRIPT, outDir, exportDir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
      env: {
        ...process.env,
        HF_HUB_OFFLINE: '1',
        TRANSFORMERS_OFFLINE: '1',
        HF_DATASETS_OFFLINE: '1',
        HF_HUB_DISABLE_TELEMETRY: '1',
        TQDM_DISABLE: '1',
        PYTHONWARNINGS: 'ignore',
      },
    });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '')
      .trim()
      .split('\n')
      .slice(-15)
      .join('\n');
    throw new Error(`${SCRIPT} failed (${(error as Error).message.split('\n')[0]}):\n${stderr}`);
  }
}
