import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { ConfigError, FileFormatError } from '../../src/errors';
import {
  chooseExecution,
  executionFor,
  measuredTimings,
  parseExecutionOverride,
  PARALLEL_MODE_ENV,
  REFERENCE_TIMINGS,
  saveMeasuredTimings,
  type MeasuredTimings,
} from '../../src/parallel';

const at = { measuredAt: '2026-12-04T21:00:00.000Z', load: 2.1 };
const timings: MeasuredTimings = {
  evaluate: { inProcess: 7.4, workers: 8.3, ...at }, // in-process faster
  invert: { inProcess: 22.8, workers: 16.0, ...at }, // workers faster
};
const tempFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'timings-')), 'parallel-timings.json');

describe('chooseExecution', () => {
  it('picks per job kind whichever way was faster', () => {
    expect(chooseExecution('evaluate', timings).mode).toBe('in-process');
    expect(chooseExecution('invert', timings).mode).toBe('workers');
    expect(chooseExecution('invert', timings).reason).toMatch(/in-process 22\.8 s, 2 workers 16\.0 s/);
  });

  it('keeps the in-process run unless workers are at least 5 % faster', () => {
    expect(chooseExecution('evaluate', { evaluate: { inProcess: 10, workers: 9.6, ...at } }).mode).toBe('in-process');
    expect(chooseExecution('evaluate', { evaluate: { inProcess: 10, workers: 9.4, ...at } }).mode).toBe('workers');
    expect(chooseExecution('evaluate', {}).mode).toBe('in-process');
  });

  it('follows the override, for all kinds or per kind', () => {
    expect(chooseExecution('evaluate', timings, 'workers').mode).toBe('workers');
    expect(chooseExecution('invert', timings, 'in-process').mode).toBe('in-process');
    expect(chooseExecution('invert', timings, 'evaluate=workers').mode).toBe('workers'); // invert not overridden: measured
    expect(chooseExecution('evaluate', timings, 'evaluate=workers, invert=in-process')).toEqual({
      mode: 'workers',
      reason: `${PARALLEL_MODE_ENV}=evaluate=workers, invert=in-process`,
    });
  });

  it('names a bad override', () => {
    expect(() => parseExecutionOverride('threads')).toThrow(ConfigError);
    expect(() => parseExecutionOverride('train=workers')).toThrow(/unknown job kind "train"/);
    expect(() => parseExecutionOverride('invert=fast')).toThrow(/unknown mode "fast" for invert/);
  });
});

describe('executionFor', () => {
  it("uses this machine's cached timings, else the committed reference, and the environment override", () => {
    const file = tempFile();
    expect(measuredTimings(file)).toBe(REFERENCE_TIMINGS);
    expect(executionFor('evaluate', { env: {}, file }).mode).toBe('in-process'); // reference: 7.4 vs 8.3 s
    saveMeasuredTimings({ evaluate: { inProcess: 9, workers: 5, ...at } }, file);
    expect(executionFor('evaluate', { env: {}, file }).mode).toBe('workers');
    expect(executionFor('invert', { env: {}, file }).mode).toBe('workers'); // not measured here: reference
    expect(executionFor('evaluate', { env: { [PARALLEL_MODE_ENV]: 'in-process' }, file }).mode).toBe('in-process');
  });

  it('names a corrupt timings file', () => {
    const file = tempFile();
    fs.writeFileSync(file, '{"evaluate": {"inProcess": -1}}');
    expect(() => measuredTimings(file)).toThrow(FileFormatError);
  });
});
