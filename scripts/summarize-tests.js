#!/usr/bin/env node
// Sums the result files of every suite in a folder and prints one closing line `N passed, N failed`.
// Reads: vitest JSON (*.vitest.json), JUnit XML from pytest (*.junit.xml), Playwright JSON (*.playwright.json),
// and `<suite>.crashed` marker files written when a suite produced no result file.
'use strict';
const fs = require('fs');
const path = require('path');

function countVitest(file) {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  return {
    passed: r.numPassedTests,
    failed: r.numFailedTests + (r.numRuntimeErrorTestSuites || 0),
    skipped: r.numPendingTests + r.numTodoTests,
  };
}

function countJUnit(file) {
  const xml = fs.readFileSync(file, 'utf8');
  let passed = 0,
    failed = 0,
    skipped = 0;
  for (const m of xml.matchAll(/<testsuite\b([^>]*)>/g)) {
    const attr = (name) => Number((m[1].match(new RegExp(`\\b${name}="(\\d+)"`)) || [0, 0])[1]);
    const tests = attr('tests'),
      f = attr('failures') + attr('errors'),
      s = attr('skipped');
    passed += tests - f - s;
    failed += f;
    skipped += s;
  }
  return { passed, failed, skipped };
}

function countPlaywright(file) {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const s = r.stats || {};
  return { passed: s.expected || 0, failed: (s.unexpected || 0) + (s.flaky || 0), skipped: s.skipped || 0 };
}

const dir = process.argv[2] || 'test-results';
const readers = [
  ['.vitest.json', countVitest],
  ['.junit.xml', countJUnit],
  ['.playwright.json', countPlaywright],
];
const total = { passed: 0, failed: 0, skipped: 0 };
for (const name of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
  const file = path.join(dir, name);
  let counts = null;
  if (name.endsWith('.crashed')) counts = { passed: 0, failed: 1, skipped: 0 };
  for (const [suffix, read] of readers) if (name.endsWith(suffix)) counts = read(file);
  if (!counts) continue;
  console.log(`  ${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  for (const k of Object.keys(total)) total[k] += counts[k];
}
console.log(`(${total.skipped} skipped)`);
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exit(total.failed > 0 || total.passed === 0 ? 1 : 0);
