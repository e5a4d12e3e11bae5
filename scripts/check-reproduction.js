#!/usr/bin/env node
// Checks a reproduction report (reports/<profile>.json) and writes its checks as JUnit XML, one
// test case each, for scripts/summarize-tests.js.
//   node scripts/check-reproduction.js REPORT_JSON JUNIT_XML EXIT_STATUS_OF_THE_RUN
'use strict';
const fs = require('fs');

const [reportPath, junitPath, runStatus] = process.argv.slice(2);
const checks = [];
const check = (name, test) => {
  let failure = null;
  try {
    const problem = test();
    if (problem) failure = problem;
  } catch (error) {
    failure = error.message;
  }
  checks.push({ name, failure });
};

let report = null;
check('the run exits with status 0', () => (runStatus === '0' ? null : `exit status ${runStatus}`));
check('the report is readable JSON', () => {
  report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
});
const methods = () => report.settings.baselines.methods;
check('Table 2/3: every set and shot has a row for every method', () => {
  const blocks = report.table23.map((b) => `${b.set}/${b.shots}`);
  if (!blocks.includes('emoji-novel/1') || !blocks.includes('emoji-novel/5')) return `blocks: ${blocks.join(', ')}`;
  const bad = report.table23.find((b) => methods().some((m) => !b.rows.some((r) => r.method === m)));
  return bad ? `${bad.set}/${bad.shots} has methods ${bad.rows.map((r) => r.method).join(', ')}` : null;
});
check('ablation: oracle and noise rows, each row paired with NN, and the headline', () => {
  const bad = report.table23.find((b) => !['oracle', 'noise'].every((m) => b.rows.some((r) => r.method === m)));
  if (bad) return `${bad.set}/${bad.shots} lacks the oracle or noise row`;
  const unpaired = report.table23.flatMap((b) => b.rows).find((r) => r.method !== 'nn' && !(r.vsNn && r.vsNn.n === r.n));
  if (unpaired) return `row without a paired difference: ${JSON.stringify(unpaired)}`;
  const h = report.headline;
  return h && h.set === 'emoji-novel' && Number.isFinite(h.recycleMinusNn.mean) && h.recycleMinusNn.ci95 >= 0
    ? null
    : `headline ${JSON.stringify(h)}`;
});
check('Table 2/3: every row keeps its per-episode counts, and the headline recomputes from them', () => {
  const bad = report.table23.find(
    (b) => !Array.isArray(b.queries) || b.rows.some((r) => !Array.isArray(r.correct) || r.correct.length !== r.n),
  );
  if (bad) return `${bad.set}/${bad.shots} lacks query counts or a row's correct counts`;
  const h = report.headline;
  const block = report.table23.find((b) => b.set === h.set && b.shots === h.shots);
  const of = (method) => block.rows.find((r) => r.method === method).correct.map((k, i) => k / block.queries[i]);
  const nn = of('nn');
  const recycle = of('lora-recycle');
  const mean = (100 * recycle.reduce((s, a, i) => s + a - nn[i], 0)) / recycle.length;
  return Math.abs(mean - h.recycleMinusNn.mean) < 1e-9 ? null : `headline ${h.recycleMinusNn.mean}, recomputed ${mean}`;
});
check('Table 2/3: accuracies are fractions over at least one episode', () => {
  const rows = report.table23.flatMap((b) => b.rows);
  const bad = rows.find((r) => !(r.mean >= 0 && r.mean <= 1 && r.n >= 1 && r.ci95 >= 0));
  return bad ? `bad row ${JSON.stringify(bad)}` : null;
});
check('Table 4/5: pruned rows keep fewer tokens and report throughput', () => {
  const [dense, ...pruned] = report.table45;
  if (!dense || dense.tokensKept !== dense.patchCount) return 'the first row must be unpruned';
  if (pruned.length === 0) return 'no pruned rows';
  const bad = pruned.find((r) => !(r.tokensKept < r.patchCount && r.metaEpisodesPerSecond > 0 && r.inversionIterationsPerSecond > 0));
  return bad ? `bad row ${JSON.stringify(bad)}` : null;
});
check('diagnostics and statements are present', () => {
  const d = report.diagnostics;
  if (!(d.targetConfidence.mean > 0 && d.learningCurve.length > 0)) return 'missing target confidence or learning curve';
  return report.statements.length > 0 ? null : 'no statements';
});

const escapeXml = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
const failures = checks.filter((c) => c.failure).length;
const cases = checks.map(
  (c) =>
    `  <testcase classname="reproduction" name="${escapeXml(c.name)}">${c.failure ? `<failure message="${escapeXml(c.failure)}"/>` : ''}</testcase>`,
);
fs.writeFileSync(
  junitPath,
  `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="reproduction" tests="${checks.length}" failures="${failures}" errors="0" skipped="0">\n${cases.join('\n')}\n</testsuite>\n`,
);
for (const c of checks) console.log(`${c.failure ? 'FAIL' : 'ok  '} ${c.name}${c.failure ? `: ${c.failure}` : ''}`);
process.exit(failures > 0 ? 1 : 0);
