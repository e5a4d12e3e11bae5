import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { interruptListener } from '../../src/cli/main';

const root = path.join(__dirname, '..', '..');
/** `npm run cli`'s command with the fixture in place of src/cli/main.ts: the launcher is part of what is tested. */
const launcher = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.cli as string;
const command = launcher.replace('src/cli/main.ts', 'test/cli/fixtures/interrupt-cli.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the fixture CLI in its own process group; with `interruptAfter`, Ctrl+C (SIGINT to the group) once that step is printed. */
function runCli(out: string, steps: number, interruptAfter?: number, stepMs = 0): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', `${command} meta-train --out ${out} --steps ${steps}`], {
      cwd: root,
      detached: true,
      env: { ...process.env, STEP_MS: String(stepMs) },
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (interruptAfter !== undefined && !interrupted && stdout.includes(`step ${interruptAfter}\n`)) {
        interrupted = true;
        process.kill(-child.pid!, 'SIGINT'); // what the terminal does on Ctrl+C
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastStep = (stdout: string) => Math.max(...[...stdout.matchAll(/^step (\d+)$/gm)].map((m) => Number(m[1])));
const weights = (stdout: string) => /^weights (.*)$/m.exec(stdout)?.[1];

describe('Ctrl+C on the command line', () => {
  it('stops a run in the middle of a long step, saves its state at that step, and the same command resumes to the same result', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-interrupt-'));
    const straight = await runCli(path.join(tmp, 'straight'), 12);
    expect(straight.code).toBe(0);

    const out = path.join(tmp, 'interrupted');
    const stopped = await runCli(out, 12, 3, 400);
    // the shell in front may die of the SIGINT; the run itself must stop in order (the pipes close when it exits)
    const at = lastStep(stopped.stdout);
    expect(stopped.stderr).toContain(
      `CancelledError: meta-train stopped after ${at} of 12 steps; state saved to ${path.join(out, 'meta-checkpoint.json')}`,
    );
    expect(at).toBeLessThan(12);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'meta-checkpoint.json'), 'utf8')).step).toBe(at); // the interrupt step, no periodic checkpoint was due

    const resumed = await runCli(out, 12);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`^step ${at + 1}$`, 'm'));
    expect(resumed.stdout).not.toMatch(new RegExp(`^step ${at}$`, 'm'));
    expect(weights(resumed.stdout)).toBe(weights(straight.stdout));
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});

describe('interruptListener', () => {
  it('aborts on the first interrupt, ignores its forwarded copies, and quits on a later one', () => {
    const controller = new AbortController();
    const written: string[] = [];
    const exits: number[] = [];
    let time = 1000;
    const listener = interruptListener(
      controller,
      {
        isTTY: false,
        write: (t: string) => {
          written.push(t);
          return true;
        },
      } as never,
      (code) => exits.push(code),
      () => time,
    );
    listener();
    expect(controller.signal.aborted).toBe(true);
    time += 50;
    listener(); // npm's forwarded copy of the same Ctrl+C
    expect(exits).toEqual([]);
    time += 2000;
    listener();
    expect(exits).toEqual([130]);
    expect(written.join('')).toMatch(/interrupt: stopping at the next step.*\n.*second interrupt: quitting without saving/s);
  });
});
