/**
 * A short description of a parsed JSON value for an error message. It never recurses: a hostile
 * file may nest arrays a million deep, which JSON.stringify would overflow the stack on.
 */
export function previewJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null || typeof value !== 'object') return JSON.stringify(value).slice(0, 80);
  if (!Array.isArray(value)) return 'an object';
  if (value.length <= 8 && value.every((item) => item === null || typeof item !== 'object')) {
    return JSON.stringify(value).slice(0, 80);
  }
  return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
}
