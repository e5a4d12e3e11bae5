/** Page helpers over a JupyterLab page opened with `expose_app_in_browser`. */
import type { Page } from '@playwright/test';

type Panel = { sessionContext?: { session?: { kernel?: { status: string } | null } | null } };
type Lab = {
  commands: { execute(id: string, args?: unknown): Promise<unknown>; hasCommand(id: string): boolean };
  shell: { currentWidget: Panel | null; widgets(area: string): Iterable<Panel> };
};
/** The browser's `window` as these tests see it (the root tsconfig has no DOM lib). */
export interface LabWindow {
  jupyterapp: Lab;
  __xss?: unknown;
}
declare const window: LabWindow;

export async function openNotebook(page: Page, url: string, token: string, path: string): Promise<void> {
  await page.goto(`${url}/lab/tree/${path}?token=${token}`);
  await page.waitForFunction(() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle', null, {
    timeout: 120_000,
  });
}

export async function command(page: Page, id: string, args?: unknown): Promise<void> {
  await page.evaluate(([i, a]) => window.jupyterapp.commands.execute(i as string, a).then(() => undefined), [id, args] as const);
}

/** Starts a command without waiting for it to finish (e.g. run-all while a cell loops). */
export async function startCommand(page: Page, id: string): Promise<void> {
  await page.evaluate((i) => void window.jupyterapp.commands.execute(i), id);
}

/** Waits until the kernels of all open notebooks (at least one) are idle. */
export async function kernelIdle(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const kernels = Array.from(window.jupyterapp.shell.widgets('main'))
        .filter((w) => w.sessionContext)
        .map((w) => w.sessionContext?.session?.kernel);
      return kernels.length > 0 && kernels.every((k) => k?.status === 'idle');
    },
    null,
    { timeout },
  );
}
