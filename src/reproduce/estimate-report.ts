import * as path from 'path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic-write';
import type { RunTimeEstimate } from './estimate';

/** "3.2 h", "14 min", "42 s". */
export function formatDuration(seconds: number): string {
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(1)} h`;
  if (seconds >= 60) return `${(seconds / 60).toFixed(0)} min`;
  return `${seconds.toFixed(0)} s`;
}

const share = (part: number, total: number) => `${((100 * part) / Math.max(total, 1e-9)).toFixed(1)} %`;

/** The markdown version of a run-time estimate. */
export function renderEstimateMarkdown(estimate: RunTimeEstimate): string {
  const m = estimate.measuredOn;
  const total = estimate.totalSeconds;
  const lines = [
    `# Run-time estimate — profile "${estimate.profile}"`,
    '',
    `Estimated from the measured rates of the "${m.profile}" profile run of ${m.startedAt} (${m.seconds.toFixed(0)} s on ${m.machine.cpus} CPU cores, backend ${m.machine.backend}, Node ${m.machine.node}). Not a measurement: the "${estimate.profile}" profile has not been run. Written by \`npm run reproduce -- --profile ${estimate.profile} --estimate --from ${m.file ?? 'reports/quick.json'}\`.`,
    '',
    `**Total: ${formatDuration(total)} (${total.toFixed(0)} s)**; at least ${formatDuration(estimate.lowerBoundSeconds)} (${estimate.lowerBoundSeconds.toFixed(0)} s) if a step cost no more at the full profile's batch sizes than at the quick profile's.`,
    '',
    '| stage | work | estimated time | share |',
    '|---|---|---|---|',
    ...estimate.stages.map((s) => `| ${s.stage} | ${s.work} | ${formatDuration(s.seconds)} | ${share(s.seconds, total)} |`),
    '',
  ];
  for (const s of estimate.stages.filter((x) => x.parts.length > 0)) {
    lines.push(
      `## ${s.stage}`,
      '',
      '| part | estimated time |',
      '|---|---|',
      ...s.parts.map((p) => `| ${p.label} | ${formatDuration(p.seconds)} |`),
      '',
    );
  }
  lines.push('## Assumptions', '', ...estimate.assumptions.map((a) => `- ${a}`), '');
  return lines.join('\n');
}

/** Writes `<outDir>/<profile>-estimate.json` and `.md` atomically; returns their paths. */
export function writeEstimate(outDir: string, estimate: RunTimeEstimate): { json: string; markdown: string } {
  const json = path.join(outDir, `${estimate.profile}-estimate.json`);
  const markdown = path.join(outDir, `${estimate.profile}-estimate.md`);
  writeJsonAtomic(json, estimate);
  writeFileAtomic(markdown, renderEstimateMarkdown(estimate));
  return { json, markdown };
}
