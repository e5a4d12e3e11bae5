import { excludesZero, formatPoints, meanWithInterval, pairedDifference, type MeanWithInterval } from '../evaluation';
import type { TuningRecord } from '../zoo';

/**
 * The ablation's meta-LoRAs: one meta-training recipe, four sources of images, the same zoo
 * LoRAs as teachers. Comparing them on identical episodes says which link of the method holds.
 */
export const ABLATION_VARIANTS = {
  'lora-recycle': 'surrogates inverted from each LoRA (the method)',
  'lora-recycle-pruned': 'surrogates inverted with token pruning, meta-trained on the surviving tokens only',
  oracle:
    "real images of each LoRA's own classes, as many as an inversion makes (each once): what this recipe gets from real data, a reference rather than a bound on other recipes",
  noise: "the inversion's random starting images, never optimised: the floor of the same recipe",
} as const;

export type AblationVariant = keyof typeof ABLATION_VARIANTS;

/** The paired comparisons a Table 2/3 block records beside each row's difference against NN. */
export const ABLATION_PAIRS: readonly [string, string][] = [
  ['lora-recycle', 'noise'],
  ['oracle', 'lora-recycle'],
];

/** `a − b` of every pair whose rows both ran, keyed "a − b". */
export function pairedComparisons(
  accuracies: ReadonlyMap<string, number[]>,
  pairs: readonly [string, string][],
): Record<string, MeanWithInterval> {
  const out: Record<string, MeanWithInterval> = {};
  for (const [a, b] of pairs) {
    const x = accuracies.get(a);
    const y = accuracies.get(b);
    if (x && y) out[`${a} − ${b}`] = pairedDifference(x, y);
  }
  return out;
}

const points = (d: MeanWithInterval) => `${formatPoints(d)} points`;

/** One block's differences, as the ablation reads them. */
export interface AblationBlock {
  setting: string; // e.g. "emoji-novel 5-way 1-shot"
  vsNn: Record<string, MeanWithInterval | undefined>; // method − NN, paired
  paired: Record<string, MeanWithInterval>; // pairedComparisons
}

/**
 * Plain-words verdicts of the ablation for one setting: does meta-training help at all here
 * (oracle − NN), do surrogates carry their task (Recycle − noise), how much of the oracle's gain
 * the surrogates recover, and what pruning costs. Each claim states its paired interval.
 */
export function ablationStatements(block: AblationBlock): string[] {
  const out: string[] = [];
  const oracle = block.vsNn.oracle;
  const recycle = block.vsNn['lora-recycle'];
  if (oracle) {
    out.push(
      excludesZero(oracle)
        ? `${block.setting}: meta-training on real zoo-task images ${oracle.mean > 0 ? 'helps' : 'hurts'} (oracle − NN ${points(oracle)}).`
        : `${block.setting}: this recipe's meta-training on real zoo-task images shows no detectable effect at this budget (oracle − NN ${points(oracle)}), so here there is no measured gain for surrogates to recover; it does not bound other recipes or budgets.`,
    );
  }
  const surrogates = block.paired['lora-recycle − noise'];
  if (surrogates) {
    const versusNoise = !excludesZero(surrogates)
      ? 'no detectable difference between the surrogates and un-optimised noise with the same teachers'
      : surrogates.mean > 0
        ? 'the surrogates are better than un-optimised noise with the same teachers: they carry something of their task'
        : 'the surrogates are worse than un-optimised noise with the same teachers';
    out.push(`${block.setting}: ${versusNoise} (LoRA Recycle − noise ${points(surrogates)}).`);
  }
  if (oracle && recycle && excludesZero(oracle) && oracle.mean > 0) {
    out.push(
      `${block.setting}: the surrogates' point estimate is ${((100 * recycle.mean) / oracle.mean).toFixed(0)} % of the oracle's gain over NN (LoRA Recycle − NN ${points(recycle)}; a ratio of two estimates, no interval).`,
    );
  }
  const pruned = block.vsNn['lora-recycle-pruned'];
  if (pruned && recycle)
    out.push(`${block.setting}: with pruned inversion, LoRA Recycle − NN is ${points(pruned)} (unpruned ${points(recycle)}).`);
  return out;
}

/** Each zoo LoRA's held-out accuracy on its own task against NN's on the same images (the paper's premise). */
export interface ZooKnowledge {
  loras: number; // LoRAs whose record has both accuracies
  heldOut: number; // mean held-out accuracy of LoRA + head
  nnHeldOut: number; // mean held-out accuracy of the frozen backbone's prototypes
  difference: MeanWithInterval; // LoRA − NN, paired over LoRAs
}

/** ZooKnowledge of the records that carry both accuracies; null when none does (zoos tuned before NN was recorded). */
export function zooKnowledge(records: readonly (TuningRecord | null)[]): ZooKnowledge | null {
  const both = records.filter(
    (r): r is TuningRecord & { heldOutAccuracy: number; nnHeldOutAccuracy: number } =>
      r !== null && typeof r.heldOutAccuracy === 'number' && typeof r.nnHeldOutAccuracy === 'number',
  );
  if (both.length === 0) return null;
  const lora = both.map((r) => r.heldOutAccuracy);
  const nn = both.map((r) => r.nnHeldOutAccuracy);
  return {
    loras: both.length,
    heldOut: meanWithInterval(lora).mean,
    nnHeldOut: meanWithInterval(nn).mean,
    difference: pairedDifference(lora, nn),
  };
}

/** Whether the zoo's LoRAs know their classes better than the backbone alone, in plain words. */
export function zooKnowledgeStatement(k: ZooKnowledge): string {
  const measured = `held-out ${(100 * k.heldOut).toFixed(1)} % against NN's ${(100 * k.nnHeldOut).toFixed(1)} % on the same images, LoRA − NN ${points(k.difference)} over ${k.loras} LoRAs`;
  if (excludesZero(k.difference) && k.difference.mean > 0)
    return `zoo: the LoRAs know their own classes better than the frozen backbone's prototypes (${measured}): there is knowledge to recycle.`;
  const words = excludesZero(k.difference) ? 'worse than' : 'no detectably better than';
  return `zoo: the LoRAs know their own classes ${words} the frozen backbone's prototypes (${measured}): the paper's premise, LoRAs holding knowledge the backbone lacks, is not shown here.`;
}
