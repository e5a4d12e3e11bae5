/**
 * Data build benchmark (issue 3): builds the default data (emoji, glyphs, MNIST, Fashion-MNIST at
 * 32×32, or --size 64) into a fresh cache in a temporary directory; reports the wall time per set
 * and in total, and the process's peak resident memory. Writes bench/results/data-build.json and .md.
 *   npm run bench:data [-- --size 64]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { progressBar } from '../src/cli/progress-bar';
import { buildAllData, summarizeDataset } from '../src/data';
import { writeFileAtomic, writeJsonAtomic } from '../src/io/atomic-write';
import { commandLine } from '../scripts/command-line';

const RESULTS = path.resolve(__dirname, 'results');

async function main(): Promise<void> {
  const size = Number(commandLine({ size: '32' }).values.size);
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-recycle-data-bench-'));
  const rssBeforeMiB = process.memoryUsage().rss / 2 ** 20;
  const started = performance.now();
  try {
    const built = await buildAllData({ size, cacheDir, onEvent: progressBar() });
    const seconds = (performance.now() - started) / 1000;
    const peakRssMiB = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
    const record = {
      date: new Date().toISOString(),
      size,
      seconds,
      peakRssMiB,
      rssBeforeMiB,
      cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
      node: process.version,
      sets: built.datasets.map((d) => {
        const s = summarizeDataset(d);
        return {
          name: s.name,
          seconds: built.seconds[s.name],
          classes: s.classes,
          images: s.images,
          bytes: s.images * size * size * 3,
          sha256: s.checksum,
        };
      }),
      missing: built.missing,
    };
    writeJsonAtomic(path.join(RESULTS, 'data-build.json'), record);
    const md = [
      `# Data build benchmark (${record.date})`,
      '',
      `Fresh build of the default data at ${size}×${size} into an empty temporary cache; ${record.cpus} (shared), Node ${record.node}.`,
      `Total **${seconds.toFixed(1)} s**, peak RSS **${peakRssMiB.toFixed(0)} MiB** (${rssBeforeMiB.toFixed(0)} MiB before building).`,
      '',
      '| set | seconds | classes | images | store MiB | sha256 |',
      '|---|---:|---:|---:|---:|---|',
      ...record.sets.map(
        (s) =>
          `| ${s.name} | ${s.seconds.toFixed(1)} | ${s.classes} | ${s.images} | ${(s.bytes / 2 ** 20).toFixed(1)} | \`${s.sha256.slice(0, 16)}…\` |`,
      ),
      ...record.missing.map((m) => `| ${m.name} | – | – | – | – | not built: ${m.message} |`),
      '',
    ].join('\n');
    writeFileAtomic(path.join(RESULTS, 'data-build.md'), md);
    console.log(md);
    console.log(`data_build_seconds=${seconds.toFixed(1)} peak_rss_mib=${peakRssMiB.toFixed(0)}`);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
