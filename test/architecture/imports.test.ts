import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The dependency direction of docs/architecture.md, checked on the import statements of src/.
 * A file's folder is its first path segment under src/ (src/ops/wasm/x.ts is in "ops",
 * src/errors.ts is "errors"); src/index.ts is the public surface and may import anything.
 * Files must not import each other in a cycle either, even within a folder. Type-only and dynamic
 * imports count: a cycle of types is still two modules that cannot be understood apart, and the
 * parser counts them for folders too.
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

/** Specifiers of static imports/exports, `import(...)` and `require(...)`, comments removed: the relative ones, or all. */
function importSpecifiers(source: string, which: 'relative' | 'all' = 'relative'): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  const specifiers = patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[1]));
  return which === 'all' ? specifiers : specifiers.filter((s) => s.startsWith('.'));
}

/** "ops" for src/ops/wasm/x.ts (or an import of '../ops'), "errors" for src/errors.ts, null for src/index.ts. */
function folderOf(file: string): string | null {
  const [first, ...rest] = path.relative(SRC, file).split(path.sep);
  if (rest.length > 0) return first;
  const name = first.replace(/\.(d\.)?ts$/, '');
  return name === '' || name === 'index' ? null : name;
}

/** Each relative import of each src/ file: the importing file, the specifier as written, the resolved path. */
function srcImports(): { file: string; specifier: string; target: string }[] {
  return sourceFiles(SRC).flatMap((file) =>
    importSpecifiers(fs.readFileSync(file, 'utf8')).map((specifier) => ({
      file,
      specifier,
      target: path.resolve(path.dirname(file), specifier),
    })),
  );
}

/** Folder → folder edges, each with one file-level example for the failure message. */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const { file, specifier, target } of srcImports()) {
    const from = folderOf(file);
    if (from === null) continue;
    if (!target.startsWith(SRC + path.sep)) continue;
    const to = folderOf(target);
    if (to === null || to === from) continue;
    const edges = graph.get(from) ?? new Map<string, string>();
    if (!edges.has(to)) edges.set(to, `${path.relative(SRC, file)} → ${specifier}`);
    graph.set(from, edges);
  }
  return graph;
}

/** The file an import resolves to as TypeScript resolves it: x.ts, x.d.ts or x/index.ts. */
function resolveImport(target: string): string | null {
  const candidates = [`${target}.ts`, `${target}.d.ts`, path.join(target, 'index.ts'), target];
  return candidates.find((candidate) => candidate.endsWith('.ts') && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) ?? null;
}

/** File → files it imports inside src/, as paths relative to src/ (src/index.ts included). */
function fileGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>(sourceFiles(SRC).map((file) => [path.relative(SRC, file), new Set<string>()]));
  for (const { file, specifier, target } of srcImports()) {
    if (!target.startsWith(SRC + path.sep)) continue;
    const resolved = resolveImport(target);
    if (resolved === null)
      throw new Error(`${path.relative(SRC, file)} imports '${specifier}': expected a .ts file or a folder with index.ts, found neither`);
    graph.get(path.relative(SRC, file))!.add(path.relative(SRC, resolved));
  }
  return graph;
}

/** Strongly connected groups of more than one node (Tarjan); a graph's values are the targets (a Set, or a Map keyed by them). */
function stronglyConnected(graph: ReadonlyMap<string, ReadonlySet<string> | ReadonlyMap<string, unknown>>): string[][] {
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

/**
 * One readable chain per file cycle, "a.ts → b.ts → a.ts": within each strongly connected group
 * (or a file importing itself), the shortest way from its first file (sorted) back to it.
 */
function fileCycleChains(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const selfImports = [...graph].filter(([file, targets]) => targets.has(file)).map(([file]) => [file]);
  return [...stronglyConnected(graph), ...selfImports].map((group) => {
    const start = group[0];
    const cameFrom = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0 && !cameFrom.has(start)) {
      const node = queue.shift()!;
      for (const next of graph.get(node) ?? []) {
        if (!group.includes(next) || cameFrom.has(next)) continue;
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
    const chain = [start];
    for (let node = cameFrom.get(start)!; node !== start; node = cameFrom.get(node)!) chain.unshift(node);
    return [start, ...chain].join(' → ');
  });
}

describe('imports between src folders', () => {
  const graph = folderGraph();
  const edge = (from: string, to: string) => graph.get(from)?.get(to);

  it('the import parser sees static, type-only, dynamic and require imports', () => {
    const source = `import * as a from './a';\nimport type { B } from '../b';\nexport { c } from "./c";\nimport './d';\nconst e = require('../e');\nconst f = await import('./f');\n// import { g } from './g';`;
    expect(importSpecifiers(source).sort()).toEqual(['../b', '../e', './a', './c', './d', './f']);
  });

  it('has no cycle between folders', () => {
    const described = stronglyConnected(graph).map((group) =>
      group.flatMap((from) => group.filter((to) => edge(from, to)).map((to) => `${from} → ${to} (${edge(from, to)})`)).join('; '),
    );
    expect(described).toEqual([]);
  });

  it('finds a file cycle and names it as a chain (a tiny made-up graph)', () => {
    const fake = new Map<string, Set<string>>([
      ['a.ts', new Set(['b.ts'])],
      ['b.ts', new Set(['c.ts', 'd.ts'])],
      ['c.ts', new Set(['a.ts'])],
      ['d.ts', new Set<string>()],
      ['e.ts', new Set(['e.ts', 'a.ts'])],
    ]);
    expect(fileCycleChains(fake).sort()).toEqual(['a.ts → b.ts → c.ts → a.ts', 'e.ts → e.ts']);
    expect(
      fileCycleChains(
        new Map([
          ['a.ts', new Set(['b.ts'])],
          ['b.ts', new Set<string>()],
        ]),
      ),
    ).toEqual([]);
  });

  it('has no cycle between files (type-only and dynamic imports count)', () => {
    expect(fileCycleChains(fileGraph())).toEqual([]);
  });

  it('leaf folders (optim, paths, errors, types, progress, random) import no other src folder but errors and types', () => {
    const offending = LEAVES.flatMap((leaf) =>
      [...(graph.get(leaf) ?? new Map<string, string>()).entries()]
        .filter(([to]) => !LEAF_MAY_IMPORT.includes(to))
        .map(([to, example]) => `${leaf} → ${to} (${example})`),
    );
    expect(offending).toEqual([]);
  });

  it('the data layer does not import the model', () => {
    expect(edge('data', 'model') ?? null).toBeNull();
  });
});

describe('the extension and the library', () => {
  const EXTENSION = path.resolve(__dirname, '../../extension/src');

  it('the extension reaches the library only through its declared entry lora-recycle/display/schema, never by a path into src/', () => {
    const offending = sourceFiles(EXTENSION).flatMap((file) =>
      importSpecifiers(fs.readFileSync(file, 'utf8'))
        .filter((specifier) => path.resolve(path.dirname(file), specifier).startsWith(SRC + path.sep))
        .map((specifier) => `${path.relative(EXTENSION, file)} → ${specifier}`),
    );
    expect(offending).toEqual([]);
  });

  it('the entry lora-recycle/display/schema (src/display/schema.ts) and what it imports need neither Node nor an npm package', () => {
    const seen = new Set<string>();
    const bare: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const specifier of importSpecifiers(fs.readFileSync(file, 'utf8'), 'all')) {
        if (!specifier.startsWith('.')) bare.push(`${path.relative(SRC, file)} → ${specifier}`);
        else visit(resolveImport(path.resolve(path.dirname(file), specifier))!);
      }
    };
    visit(path.join(SRC, 'display', 'schema.ts'));
    expect(bare).toEqual([]);
    expect(seen.size).toBeGreaterThan(5); // it did follow the imports
  });
});
