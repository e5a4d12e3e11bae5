/**
 * Which entries of the working directory are LoRA zoos and which are runs, DOM-free. A zoo is a
 * folder named `zoo…`/`…-zoo` or a `*.zoo.json` file; a run is a folder named `run…` or any entry
 * inside a `runs/` folder.
 */
export interface Entry {
  name: string;
  path: string;
  type: string; // 'directory' | 'file' | 'notebook'
}

export type EntryKind = 'zoo' | 'run';

export function classifyEntry(entry: Entry, parentName: string): EntryKind | null {
  const name = entry.name.toLowerCase();
  const dir = entry.type === 'directory';
  if ((dir && /(^zoo|[-_.]zoo$)/.test(name)) || name.endsWith('.zoo.json') || parentName === 'zoos') return 'zoo';
  if ((dir && /^run[-_.]?/.test(name)) || parentName === 'runs') return 'run';
  return null;
}

/** Folders worth looking into one level down. */
export const CONTAINER_FOLDERS = ['zoos', 'runs', 'output', 'outputs', 'artifacts'];
