import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { install } from '../../kernel/src/install';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kernelspec-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A stand-in checkout whose kernel/dist/main.js prints where it runs from and its arguments. */
function checkout(dir: string): string {
  const main = path.join(dir, 'kernel', 'dist', 'main.js');
  fs.mkdirSync(path.dirname(main), { recursive: true });
  fs.writeFileSync(main, 'console.log(JSON.stringify({ dir: __dirname, args: process.argv.slice(2) }));\n');
  return main;
}

/** Starts a kernelspec as Jupyter does: {resource_dir} and {connection_file} filled in, argv run. */
function start(specDir: string) {
  const spec = JSON.parse(fs.readFileSync(path.join(specDir, 'kernel.json'), 'utf8')) as { argv: string[] };
  const argv = spec.argv.map((a) => a.replace('{resource_dir}', specDir).replace('{connection_file}', 'conn.json'));
  const run = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return { code: run.status, out: run.stdout ? JSON.parse(run.stdout || 'null') : null, stderr: run.stderr, argv: spec.argv };
}

describe('kernelspec install', () => {
  it('runs the kernel of a checkout that moved together with its kernelspec (e.g. inside its .venv)', () => {
    const before = path.join(tmp, 'before');
    const specDir = install({ target: 'prefix', prefix: path.join(before, '.venv') }, checkout(before));
    const first = start(specDir);
    expect(first.code).toBe(0);
    expect(first.out).toEqual({ dir: path.join(before, 'kernel', 'dist'), args: ['kernel', '--connection-file', 'conn.json'] });
    expect(JSON.stringify(first.argv)).not.toContain(before); // no checkout path in kernel.json

    const after = path.join(tmp, 'after');
    fs.renameSync(before, after);
    const moved = start(path.join(after, path.relative(before, specDir)));
    expect(moved.code).toBe(0);
    expect(moved.out.dir).toBe(path.join(after, 'kernel', 'dist'));
  });

  it('runs the kernel from a kernelspec outside the checkout, and says what to run when the checkout moved', () => {
    const project = path.join(tmp, 'project');
    const specDir = install({ target: 'prefix', prefix: path.join(tmp, 'user-data'), name: 'outside' }, checkout(project));
    expect(start(specDir).out.dir).toBe(path.join(project, 'kernel', 'dist'));
    fs.renameSync(project, path.join(tmp, 'project-moved'));
    const lost = start(specDir);
    expect(lost.code).toBe(1);
    expect(lost.stderr).toContain(`expected kernel/dist/main.js at ${path.join(project, 'kernel', 'dist', 'main.js')}`);
    expect(lost.stderr).toContain('run: bash scripts/install-jupyter.sh');
  });
});
