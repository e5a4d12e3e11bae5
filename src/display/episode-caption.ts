import type { EpisodePayload, EpisodeQueryImage } from './payloads';

/** A probability in two decimals that never rounds to a certainty it is not ("<0.01", ">0.99"). */
export function formatProbability(p: number): string {
  if (p > 0.995 && p < 1) return '>0.99';
  if (p < 0.005 && p > 0) return '<0.01';
  return p.toFixed(2);
}

/** "p=0.62 Δd=0.41": the query's confidence and distance margin, those it has. */
export function queryScores(q: EpisodeQueryImage): string {
  return [
    q.confidence !== undefined ? `p=${formatProbability(q.confidence)}` : '',
    q.margin !== undefined ? `Δd=${q.margin.toFixed(2)}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** The caption of a query image: ✓/✗, predicted class, scores, and the true class when wrong. */
export function queryCaption(p: EpisodePayload, q: EpisodeQueryImage): string {
  const truth = p.classes[q.label];
  if (q.prediction === undefined) return truth;
  const scores = queryScores(q);
  const predicted = `${p.classes[q.prediction]}${scores ? ` ${scores}` : ''}`;
  return q.prediction === q.label ? `✓ ${predicted}` : `✗ ${predicted} (is ${truth})`;
}
