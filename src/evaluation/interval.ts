import { ConfigError } from '../errors';

/** Mean of per-episode accuracies with the half-width of its 95 % interval. */
export interface MeanWithInterval {
  mean: number;
  ci95: number; // 1.96 · std / √n, std with the population (1/n) normalisation as in the paper's code
  n: number;
}

/** mean ± 1.96·std/√n (method.md §1.6). A single value has interval 0. */
export function meanWithInterval(values: readonly number[]): MeanWithInterval {
  if (values.length === 0) throw new ConfigError('meanWithInterval: expected at least one value, found none');
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  return { mean, ci95: (1.96 * Math.sqrt(variance)) / Math.sqrt(n), n };
}
