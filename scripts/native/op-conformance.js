#!/usr/bin/env node
// Op conformance of the native TensorFlow backend (issue #14).
//
// Runs tfjs-core's own shared op and gradient specs (the compiled
// node_modules/@tensorflow/tfjs-core/dist/ops/**/*_test.js and
// dist/gradients_test.js) with jasmine against the 'tensorflow' backend of
// @tensorflow/tfjs-node, which here is built against TensorFlow 2.21 rather
// than the 2.9 it was written for. Writes a JSON summary (counts, and each
// failing spec's full name with the first line of its message) atomically.
//
//   npm run bench:native-ops  (or: TF_CPP_MIN_LOG_LEVEL=3 node scripts/native/op-conformance.js \
//     [out.json] [--grep REGEX])
//
// Needs the devDependency `jasmine` 4.2.1 (the version tfjs 4.22 was tested with).

'use strict';

process.env.TF_CPP_MIN_LOG_LEVEL = process.env.TF_CPP_MIN_LOG_LEVEL || '3';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const grepAt = args.indexOf('--grep');
const grep = grepAt >= 0 ? new RegExp(args.splice(grepAt, 2)[1]) : null;
const outPath = path.resolve(ROOT, args[0] || 'bench/results/native-op-conformance.json');

// Spec files that only make sense in a browser (canvas, video, DOM pixels);
// their specs are also flag-gated to BROWSER_ENVS, but loading them is wasted.
const BROWSER_ONLY = new Set(['ops/from_pixels_test.js', 'ops/to_pixels_test.js', 'ops/draw_test.js']);

function specFiles(coreDist) {
  const found = ['gradients_test.js'];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(coreDist, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('_test.js') && !BROWSER_ONLY.has(r)) found.push(r);
    }
  };
  walk('ops');
  return found.sort();
}

function writeAtomic(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

async function main() {
  const started = Date.now();
  // The dist/*.js spec files are ES-module syntax with extensionless imports;
  // tsx's require hook (a devDependency) loads them as CommonJS.
  require('tsx/cjs');
  const Jasmine = require('jasmine');
  const tf = require('@tensorflow/tfjs-node'); // registers backend 'tensorflow'
  const coreDist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist');

  const runner = new Jasmine({ projectBaseDir: ROOT });
  runner.exitOnCompletion = false;
  runner.loadConfig({ random: false, spec_files: [] });
  jasmine.DEFAULT_TIMEOUT_INTERVAL = 20000; // as tfjs-core's jasmine_util sets

  // Must happen before any spec file runs describeWithFlags: one test env,
  // the native backend, synchronous data reads allowed.
  require(path.join(coreDist, 'jasmine_util.js')).setTestEnvs([
    { name: 'test-tensorflow', backendName: 'tensorflow', flags: {}, isDataSync: true },
  ]);
  const files = specFiles(coreDist);
  const loadErrors = [];
  for (const f of files) {
    try {
      require(path.join(coreDist, f));
    } catch (e) {
      loadErrors.push({ file: f, message: String(e?.message ?? e).split('\n')[0] });
    }
  }

  const counts = { passed: 0, failed: 0, skipped: 0 };
  const failures = [];
  let seen = 0;
  runner.env.configure({ specFilter: (spec) => !grep || grep.test(spec.getFullName()) });
  runner.clearReporters();
  runner.addReporter({
    specDone(r) {
      if (r.status === 'passed') counts.passed++;
      else if (r.status === 'failed') {
        counts.failed++;
        const first = r.failedExpectations[0] || { message: '' };
        failures.push({ name: r.fullName, message: String(first.message).split('\n')[0] });
      } else counts.skipped++; // 'pending' or 'excluded'
      if (++seen % 1000 === 0) process.stderr.write(`  ${seen} specs (${counts.failed} failed)\n`);
    },
  });
  // A rejected promise outside a spec would otherwise kill the run.
  const stray = [];
  process.on('unhandledRejection', (e) => stray.push(String(e?.message ?? e).split('\n')[0]));

  const result = await runner.execute();
  const summary = {
    backend: 'tensorflow',
    tensorflowVersion: tf.backend().binding.TF_Version,
    tfjsVersion: tf.version.tfjs,
    specFiles: files.length,
    grep: grep ? grep.source : null,
    ...counts,
    overallStatus: result.overallStatus,
    seconds: Math.round((Date.now() - started) / 1000),
    loadErrors,
    strayRejections: stray,
    failures,
  };
  writeAtomic(outPath, summary);
  console.log(
    `tensorflow ${summary.tensorflowVersion}: ${counts.passed} passed, ${counts.failed} failed, ` +
      `${counts.skipped} skipped -> ${path.relative(ROOT, outPath)}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
