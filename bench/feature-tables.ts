/**
 * Shared feature tables benchmark: the standard profile's 1-shot and 5-shot blocks of NN on its
 * main domain's novel classes (domain B by default), each row evaluated with a table of its own
 * per block (separate row objects: as before the tables were shared) and with one table shared by
 * both blocks (the same row object: as the reproduction runs). Same episodes, same backbone, in
 * this order, in one process; checks that both give the same per-episode accuracies. Writes
 * bench/results/feature-tables.json and .md.
 *   npm run bench:feature-tables [-- --episodes 600]
 */
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic, writeJsonAtomic } from '../src/io/atomic-write';
import { loadRunConfig } from '../src/reproduce/config';
import { mainSets } from '../src/reproduce/main-set';
import { defaultConfigPath } from '../src/reproduce/reproduce';
import { evaluateTuningFree, type TuningFreeRow } from '../src/reproduce/stages';
import type { PipelineEpisodes } from '../src/reproduce/ports';
import { createPorts } from '../src/reproduce/wiring';
import { commandLine } from '../scripts/command-line';

const RESULTS = path.resolve(__dirname, 'results');

async function main(): Promise<void> {
  const episodes = Number(commandLine({ episodes: '600' }).values.episodes);
  const ports = createPorts();
  const config = loadRunConfig(defaultConfigPath('standard'));
  const backbone = await ports.loadBackbone(config);
  const ev = config.evaluation;
  const set = mainSets(config).novel;
  const sources: PipelineEpisodes[] = [];
  for (const shots of [1, 5]) {
    const source = await ports.episodes(set, { ways: ev.ways, shots, queries: ev.queries }, episodes, ev.seed);
    if (!source) throw new Error(`${set}: data not installed`);
    sources.push(source);
  }
  /** Both blocks with `rowFor(block)` as the row: its wall time and per-episode accuracies. */
  const bothBlocks = async (rowFor: (block: number) => TuningFreeRow) => {
    const started = performance.now();
    const accuracies: number[][] = [];
    for (const [block, source] of sources.entries())
      accuracies.push((await evaluateTuningFree(backbone, [rowFor(block)], source, config, {}))[0].accuracies);
    return { seconds: (performance.now() - started) / 1000, accuracies };
  };
  const nn = (): TuningFreeRow => ({ method: 'nn', adapter: null, scorer: 'nn' });
  const separate = await bothBlocks(() => nn());
  const shared = nn();
  const together = await bothBlocks(() => shared);
  const same = JSON.stringify(separate.accuracies) === JSON.stringify(together.accuracies);
  backbone.dispose();
  ports.dispose();

  const record = {
    date: new Date().toISOString(),
    set,
    episodes,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
    node: process.version,
    separateSeconds: separate.seconds,
    sharedSeconds: together.seconds,
    speedup: separate.seconds / together.seconds,
    sameAccuracies: same,
  };
  writeJsonAtomic(path.join(RESULTS, 'feature-tables.json'), record);
  const md = [
    `# Shared feature tables benchmark (${record.date})`,
    '',
    `NN on ${set}, 5-way 1-shot then 5-shot, ${episodes} episodes each (${ev.queries} queries per class), configuration of the standard profile; ${record.cpus}, Node ${record.node}. Written by \`npm run bench:feature-tables\`.`,
    '',
    '| tables | seconds for both blocks |',
    '|---|---:|',
    `| one per block | ${separate.seconds.toFixed(1)} |`,
    `| one shared by both blocks | ${together.seconds.toFixed(1)} |`,
    '',
    `Shared is **${record.speedup.toFixed(2)}×** as fast, one timing each in the same process; per-episode accuracies ${same ? 'identical' : 'DIFFER'}.`,
    '',
  ].join('\n');
  writeFileAtomic(path.join(RESULTS, 'feature-tables.md'), md);
  console.log(md);
  if (!same) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
