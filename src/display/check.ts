/**
 * Small typed checkers for untrusted JSON. Each returns the checked value (a fresh copy for
 * containers, so unknown fields are dropped) or throws PayloadError naming the field, what was
 * expected and what was found.
 */
import { LIMITS } from './payloads';
import { PayloadError } from './payload-error';

export const PNG_DATA_URL_PREFIX = 'data:image/png;base64,';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : `${value}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PayloadError(path, `expected an object, found ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function text(value: unknown, path: string, maxLength: number = LIMITS.stringLength): string {
  if (typeof value !== 'string') throw new PayloadError(path, `expected a string, found ${describe(value)}`);
  if (value.length > maxLength) {
    throw new PayloadError(path, `expected at most ${maxLength} characters, found ${value.length}`);
  }
  return value;
}

export interface NumberRange {
  min?: number;
  max?: number;
  integer?: boolean;
}

export function finite(value: unknown, path: string, range: NumberRange = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new PayloadError(path, `expected a finite number, found ${describe(value)}`);
  }
  if (range.integer && !Number.isInteger(value)) throw new PayloadError(path, `expected an integer, found ${value}`);
  if (range.min !== undefined && value < range.min) throw new PayloadError(path, `expected ≥ ${range.min}, found ${value}`);
  if (range.max !== undefined && value > range.max) throw new PayloadError(path, `expected ≤ ${range.max}, found ${value}`);
  return value;
}

export function list<T>(value: unknown, path: string, maxLength: number, item: (v: unknown, p: string) => T): T[] {
  if (!Array.isArray(value)) throw new PayloadError(path, `expected an array, found ${describe(value)}`);
  if (value.length > maxLength) {
    throw new PayloadError(path, `expected at most ${maxLength} entries, found ${value.length}`);
  }
  return value.map((v, i) => item(v, `${path}[${i}]`));
}

/** `check(value)` when the field is present (not undefined), else undefined. */
export function optional<T>(value: unknown, check: (v: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(value);
}

export function flag(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new PayloadError(path, `expected true or false, found ${describe(value)}`);
  return value;
}

/** A PNG data URL: exactly the prefix `data:image/png;base64,` followed by base64. */
export function pngDataUrl(value: unknown, path: string): string {
  const url = text(value, path, LIMITS.dataUrlLength);
  if (!url.startsWith(PNG_DATA_URL_PREFIX)) {
    throw new PayloadError(path, `expected a PNG data URL starting with "${PNG_DATA_URL_PREFIX}", found "${url.slice(0, 40)}"`);
  }
  const body = url.slice(PNG_DATA_URL_PREFIX.length);
  if (body.length === 0 || body.length % 4 !== 0 || !BASE64.test(body)) {
    throw new PayloadError(path, 'expected base64 data after the PNG data URL prefix, found other characters');
  }
  return url;
}

/** A 0/1 mask over `patches` patches. */
export function mask(value: unknown, path: string, patches: number): number[] {
  const m = list(value, path, LIMITS.patches, (v, p) => finite(v, p, { integer: true, min: 0, max: 1 }));
  if (m.length !== patches) throw new PayloadError(path, `expected ${patches} entries (one per patch), found ${m.length}`);
  return m;
}

export function version(value: unknown, path: string): 1 {
  if (value !== 1) throw new PayloadError(path, `expected schema version 1, found ${describe(value)}`);
  return 1;
}
