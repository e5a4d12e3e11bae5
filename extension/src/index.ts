/**
 * Frontend plugin: LoRA Recycle commands in the palette and the launcher (open the tutorial
 * notebook; show the zoos and runs of the working directory), and the kernel lookup the Stop
 * button of the curves renderer uses.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import type { Kernel } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';
import { setKernelLocator } from './kernel-control';
import { el } from './dom';
import { CONTAINER_FOLDERS, classifyEntry, type Entry, type EntryKind } from './logic/workspace';

const CATEGORY = 'LoRA Recycle';
const TUTORIAL_CANDIDATES = ['notebooks/01-visual-tour.ipynb', '01-visual-tour.ipynb'];
const COMMANDS = { tutorial: 'lora-recycle:open-tutorial', workspace: 'lora-recycle:show-zoos-and-runs' };

async function exists(app: JupyterFrontEnd, path: string): Promise<boolean> {
  try {
    await app.serviceManager.contents.get(path, { content: false });
    return true;
  } catch {
    return false;
  }
}

async function openTutorial(app: JupyterFrontEnd): Promise<void> {
  for (const path of TUTORIAL_CANDIDATES) {
    if (await exists(app, path)) {
      await app.commands.execute('docmanager:open', { path, factory: 'Notebook', kernel: { name: 'lora-recycle-ts' } });
      return;
    }
  }
  await showErrorMessage(CATEGORY, `Tutorial notebook not found; looked for ${TUTORIAL_CANDIDATES.join(', ')} from the server root.`);
}

async function listEntries(app: JupyterFrontEnd, path: string): Promise<Entry[]> {
  const model = await app.serviceManager.contents.get(path, { content: true });
  return (model.content as Entry[]) ?? [];
}

async function findZoosAndRuns(app: JupyterFrontEnd): Promise<Array<Entry & { kind: EntryKind }>> {
  const found: Array<Entry & { kind: EntryKind }> = [];
  const visit = async (path: string, parentName: string, depth: number) => {
    for (const entry of await listEntries(app, path)) {
      const kind = classifyEntry(entry, parentName);
      if (kind) found.push({ ...entry, kind });
      else if (depth > 0 && entry.type === 'directory' && CONTAINER_FOLDERS.includes(entry.name.toLowerCase())) {
        await visit(entry.path, entry.name.toLowerCase(), depth - 1);
      }
    }
  };
  await visit('', '', 1);
  return found;
}

async function showWorkspace(app: JupyterFrontEnd): Promise<void> {
  const entries = await findZoosAndRuns(app);
  const section = (kind: EntryKind, heading: string) => {
    const items = entries.filter((e) => e.kind === kind);
    const list = el(
      'ul',
      {},
      ...items.map((e) => {
        const open = el('button', { type: 'button', class: 'jp-mod-styled' }, e.path);
        open.addEventListener('click', () => {
          const command = e.type === 'directory' ? 'filebrowser:go-to-path' : 'docmanager:open';
          void app.commands.execute(command, { path: e.path });
        });
        return el('li', {}, open);
      }),
    );
    return [el('h3', {}, `${heading} (${items.length})`), items.length ? list : el('p', {}, 'none found')];
  };
  const content = new Widget();
  content.addClass('lr-workspace');
  content.node.append(...section('zoo', 'LoRA zoos'), ...section('run', 'Runs'));
  const widget = new MainAreaWidget({ content });
  widget.id = 'lora-recycle-workspace';
  widget.title.label = 'Zoos and runs';
  widget.title.closable = true;
  app.shell.add(widget, 'main');
  app.shell.activateById(widget.id);
}

/** The kernel of the notebook (or console) whose node contains `node`. */
function kernelLocator(app: JupyterFrontEnd) {
  return (node: HTMLElement): Kernel.IKernelConnection | null => {
    for (const widget of app.shell.widgets('main')) {
      if (!widget.node.contains(node)) continue;
      const ctx = (widget as { sessionContext?: { session?: { kernel?: Kernel.IKernelConnection | null } | null } }).sessionContext;
      return ctx?.session?.kernel ?? null;
    }
    return null;
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'lora-recycle-jupyterlab:commands',
  description: 'LoRA Recycle commands and the Stop-button kernel lookup.',
  autoStart: true,
  optional: [ICommandPalette, ILauncher],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null, launcher: ILauncher | null) => {
    setKernelLocator(kernelLocator(app));
    app.commands.addCommand(COMMANDS.tutorial, {
      label: 'LoRA Recycle: Open the Visual Tour',
      caption: 'Open the tutorial notebook notebooks/01-visual-tour.ipynb',
      execute: () => openTutorial(app),
    });
    app.commands.addCommand(COMMANDS.workspace, {
      label: 'LoRA Recycle: Show Zoos and Runs',
      caption: 'List the LoRA zoos and runs in the working directory',
      execute: () => showWorkspace(app).catch((e) => showErrorMessage(CATEGORY, String(e))),
    });
    for (const command of Object.values(COMMANDS)) {
      palette?.addItem({ command, category: CATEGORY });
      launcher?.add({ command, category: CATEGORY, rank: 1 });
    }
  },
};

export default plugin;
