/**
 * Starts a real JupyterLab server from the project's .venv for browser tests and benchmarks:
 * random free port, random token, a fresh root directory inside the project (so the kernel
 * resolves the project's packages), the app exposed as `window.jupyterapp`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../free-port';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export interface JupyterLabServer {
  url: string; // http://127.0.0.1:PORT
  token: string;
  rootDir: string;
  stop(): Promise<void>;
}

async function waitForStatus(url: string, token: string, proc: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`jupyter lab exited with ${proc.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${url}/api/status`, { headers: { Authorization: `token ${token}` } });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`jupyter lab did not answer within ${timeoutMs} ms:\n${log()}`);
}

/**
 * Starts JupyterLab on a temporary root dir under .cache/browser/ (removed by stop()) holding
 * `files` (name → content) and symlinks `links` (name → target path).
 */
export async function startJupyterLab(files: Record<string, string> = {}, links: Record<string, string> = {}): Promise<JupyterLabServer> {
  const base = path.join(PROJECT_ROOT, '.cache', 'browser');
  fs.mkdirSync(base, { recursive: true });
  const rootDir = fs.mkdtempSync(path.join(base, 'root-'));
  // every cell in the DOM (no virtual scrolling), so tests see outputs of off-screen cells
  const settings = path.join(rootDir, '.settings', '@jupyterlab', 'notebook-extension');
  fs.mkdirSync(settings, { recursive: true });
  fs.writeFileSync(path.join(settings, 'tracker.jupyterlab-settings'), JSON.stringify({ windowingMode: 'none' }));
  const notifications = path.join(rootDir, '.settings', '@jupyterlab', 'apputils-extension');
  fs.mkdirSync(notifications, { recursive: true });
  fs.writeFileSync(path.join(notifications, 'notification.jupyterlab-settings'), JSON.stringify({ fetchNews: 'false' }));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(rootDir, name)), { recursive: true });
    fs.writeFileSync(path.join(rootDir, name), content);
  }
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(rootDir, name));
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const jupyter = path.join(PROJECT_ROOT, '.venv', 'bin', 'jupyter');
  const proc = spawn(
    jupyter,
    [
      'lab',
      '--no-browser',
      '--allow-root',
      '--ip=127.0.0.1',
      `--port=${port}`,
      `--IdentityProvider.token=${token}`,
      `--ServerApp.root_dir=${rootDir}`,
      '--ServerApp.port_retries=0',
      '--LabApp.expose_app_in_browser=True',
      '--LabApp.news_url=None',
      '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
      `--LabApp.user_settings_dir=${path.join(rootDir, '.settings')}`,
      `--LabApp.workspaces_dir=${path.join(rootDir, '.workspaces')}`,
    ],
    { cwd: rootDir, env: { ...process.env, JUPYTER_PLATFORM_DIRS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => {
        proc.once('exit', r);
        setTimeout(r, 5000);
      });
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    fs.rmSync(rootDir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(url, token, proc, () => output.slice(-4000), 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, token, rootDir, stop };
}

/** An .ipynb for the lora-recycle-ts kernel with the given code cells. */
export function notebook(cells: string[]): string {
  return JSON.stringify(
    {
      cells: cells.map((source) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source })),
      metadata: {
        kernelspec: { name: 'lora-recycle-ts', display_name: 'TypeScript (LoRA Recycle)', language: 'typescript' },
        language_info: { name: 'typescript' },
      },
      nbformat: 4,
      nbformat_minor: 5,
    },
    null,
    1,
  );
}
