import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The dependency direction of docs/architecture.md, checked on the import statements of src/.
 * A file's folder is its first path segment under src/ (src/ops/wasm/x.ts is in "ops",
 * src/errors.ts is "errors"); src/index.ts is the public surface and may import anything.
 */
const SRC = path.resolve(__dirname, '../../src');
const LEAVES = ['optim', 'paths', 'errors', 'types', 'progress', 'random'];
const LEAF_MAY_IMPORT = ['errors', 'types'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative specifiers of static imports/exports, `import(...)` and `require(...)`, comments removed. */
function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[1])).filter((s) => s.startsWith('.'));
}

/** "ops" for src/ops/wasm/x.ts (or an import of '../ops'), "errors" for src/errors.ts, null for src/index.ts. */
function folderOf(file: string): string | null {
  const [first, ...rest] = path.relative(SRC, file).split(path.sep);
  if (rest.length > 0) return first;
  const name = first.replace(/\.(d\.)?ts$/, '');
  return name === '' || name === 'index' ? null : name;
}

/** Folder → folder edges, each with one file-level example for the failure message. */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (from === null) continue;
    for (const specifier of importSpecifiers(fs.readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), specifier);
      if (!target.startsWith(SRC + path.sep)) continue;
      const to = folderOf(target);
      if (to === null || to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, `${path.relative(SRC, file)} → ${specifier}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** Strongly connected groups of more than one folder (Tarjan). */
function folderCycles(graph: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (stack.includes(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        group.push(member);
      } while (member !== node);
      if (group.length > 1) cycles.push(group.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

describe('imports between src folders', () => {
  const graph = folderGraph();
  const edge = (from: string, to: string) => graph.get(from)?.get(to);

  it('the import parser sees static, type-only, dynamic and require imports', () => {
    const source = `import * as a from './a';\nimport type { B } from '../b';\nexport { c } from "./c";\nimport './d';\nconst e = require('../e');\nconst f = await import('./f');\n// import { g } from './g';`;
    expect(importSpecifiers(source).sort()).toEqual(['../b', '../e', './a', './c', './d', './f']);
  });

  it('has no cycle between folders', () => {
    const described = folderCycles(graph).map((group) =>
      group.flatMap((from) => group.filter((to) => edge(from, to)).map((to) => `${from} → ${to} (${edge(from, to)})`)).join('; '),
    );
    expect(described).toEqual([]);
  });

  it('leaf folders (optim, paths, errors, types, progress, random) import no other src folder but errors and types', () => {
    const offending = LEAVES.flatMap((leaf) =>
      [...(graph.get(leaf) ?? new Map<string, string>()).entries()].filter(([to]) => !LEAF_MAY_IMPORT.includes(to)).map(([to, example]) => `${leaf} → ${to} (${example})`),
    );
    expect(offending).toEqual([]);
  });

  it('the data layer does not import the model', () => {
    expect(edge('data', 'model') ?? null).toBeNull();
  });
});
