import * as fs from 'fs';
import { FileFormatError, MissingResourceError } from '../errors';
import type { ReproductionReport } from './report';
import { readJsonFile } from '../io/read-json';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks the fields a run-time estimate reads (run, settings, Table 2/3 timings, Table 4/5 rates,
 * stage wall times when present); throws a FileFormatError naming the first one missing.
 */
export function checkReportShape(json: unknown, source: string): ReproductionReport {
  const fail = (field: string, expected: string): never => {
    throw new FileFormatError(source, `${field} must be ${expected}`);
  };
  const field = (object: Json, key: string, type: 'string' | 'number' | 'object', where: string) => {
    const value = object[key];
    if (type === 'object' ? !isObject(value) : typeof value !== type) fail(`${where}${key}`, `a${type === 'object' ? 'n' : ''} ${type}`);
    return value;
  };
  const list = (object: Json, key: string, where: string): Json[] => {
    const value = object[key];
    if (!Array.isArray(value) || !value.every(isObject)) fail(`${where}${key}`, 'a list of objects');
    return value as Json[];
  };
  if (!isObject(json)) return fail('the report', 'a JSON object');
  for (const key of ['profile', 'startedAt'] as const) field(json, key, 'string', '');
  field(json, 'seconds', 'number', '');
  field(json, 'machine', 'object', '');
  field(json, 'settings', 'object', '');
  list(json, 'table23', '').forEach((block, b) => {
    field(block, 'set', 'string', `table23[${b}].`);
    field(block, 'shots', 'number', `table23[${b}].`);
    list(block, 'rows', `table23[${b}].`).forEach((row, r) => {
      field(row, 'method', 'string', `table23[${b}].rows[${r}].`);
      for (const key of ['n', 'seconds']) field(row, key, 'number', `table23[${b}].rows[${r}].`);
    });
  });
  list(json, 'table45', '').forEach((row, r) => {
    field(row, 'label', 'string', `table45[${r}].`);
    field(row, 'pruning', 'object', `table45[${r}].`);
    for (const key of ['inversionIterationsPerSecond', 'metaEpisodesPerSecond']) field(row, key, 'number', `table45[${r}].`);
  });
  if (json.zooTuningSeconds !== undefined) field(json, 'zooTuningSeconds', 'number', '');
  if (json.cpu !== undefined) {
    const cpu = field(json, 'cpu', 'object', '') as Json;
    field(cpu, 'processCores', 'number', 'cpu.');
    for (const key of ['otherProcessesShare', 'stealShare'])
      if (cpu[key] !== null && !(typeof cpu[key] === 'number' && (cpu[key] as number) >= 0 && (cpu[key] as number) <= 1))
        fail(`cpu.${key}`, 'a share between 0 and 1, or null');
  }
  if (json.stageSeconds !== undefined) {
    const stages = field(json, 'stageSeconds', 'object', '') as Json;
    for (const key of Object.keys(stages)) field(stages, key, 'number', 'stageSeconds.');
  }
  return json as unknown as ReproductionReport;
}

/**
 * A report as JSON, indented, with every list of numbers on one line (the per-episode counts stay
 * compact: one line per row instead of one per episode).
 */
export function reportJson(report: ReproductionReport): string {
  return `${JSON.stringify(report, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, items: string) => `[${items.split(/,\s*/).join(',')}]`)}\n`;
}

/** Reads a report written by `reproduce` (reports/<profile>.json). */
export function readReproductionReport(file: string): ReproductionReport {
  if (!fs.existsSync(file))
    throw new MissingResourceError(`${file} not found; run the quick profile first (npm run reproduce), it writes reports/quick.json`);
  const json = readJsonFile(file, 'not a readable JSON report');
  return checkReportShape(json, file);
}
