/**
 * Which pre-tuning recipe makes teachers that pass the teachers' gate (mean held-out accuracy of
 * LoRA + head ≥ 85 %, LoRA − NN ≥ +10 points; src/reproduce/gates.ts)? A zoo of `--loras` base-class
 * tasks, drawn as the standard profile's zoo draws its tasks (the same tasks, seeds and held-out
 * images for every recipe, so the recipes pair), is pre-tuned with each recipe, and each LoRA's held-out accuracy
 * is paired with NN's (frozen backbone prototypes) and with the profile's own recipe. Base classes
 * only. Resumable: a recipe's zoo folder is kept, and a finished one is read back.
 * Writes reports/teacher-recipes-<domain>/recipes.{json,md}.
 *   npm run exp:teacher-recipes -- [--config configs/glyph-domain.json] [--loras 12] [--recipes profile,steps-80,...] [--out reports]
 */
import * as path from 'path';
import { ConfigError } from '../src/errors';
import { formatPoints, meanWithInterval, pairedDifference, type MeanWithInterval } from '../src/evaluation';
import { writeFileAtomic, writeJsonAtomic } from '../src/io';
import { loadRunConfig, type RunConfig } from '../src/reproduce/config';
import { profileFor } from '../src/reproduce/profiles';
import { mainSpec } from '../src/reproduce/main-set';
import { createPorts } from '../src/reproduce/wiring';
import { commandLine } from './command-line';

/** Half of every change of DEFAULT_SHAPE_AUGMENT. */
const LIGHT_AUGMENT = { maxShift: 0.05, scale: [0.92, 1.08] as [number, number], maxShear: 0.12, maxRotation: 0.08, maxStroke: 0.25 };

/** Each recipe changes the profile's zoo section (every other setting is the profile's). */
const RECIPES: Record<string, { change: Partial<RunConfig['zoo']>; why: string }> = {
  profile: { change: {}, why: "the standard profile's recipe" },
  'steps-80': { change: { steps: 80 }, why: 'twice the Adam steps' },
  'shots-20': { change: { shots: 20 }, why: "20 fonts per class: all a class's renderings but the 4 held out (other tasks)" },
  'lr-0.01': { change: { learningRate: 0.01 }, why: 'Adam lr 0.01' },
  'all-six-rank-8': { change: { rank: 8, targets: ['q', 'k', 'v', 'o', 'fc1', 'fc2'] }, why: 'rank 8 on q, k, v, o, fc1, fc2' },
  'all-six-rank-8-steps-80': {
    change: { rank: 8, targets: ['q', 'k', 'v', 'o', 'fc1', 'fc2'], steps: 80 },
    why: 'rank 8 on all six projections, 80 steps',
  },
  augment: { change: { augment: {} }, why: 'shape augmentation (shift, zoom, slant, rotation, stroke width) each step' },
  'augment-steps-80': { change: { augment: {}, steps: 80 }, why: 'shape augmentation, 80 steps' },
  'augment-lr-0.01': { change: { augment: {}, learningRate: 0.01 }, why: 'shape augmentation, Adam lr 0.01' },
  'prototype-head': {
    change: { headInit: 'prototypes' },
    why: 'the head starts as the nearest-mean classifier of the frozen features',
  },
  'prototype-head-lr-0.01': {
    change: { headInit: 'prototypes', learningRate: 0.01 },
    why: 'the head starts from the class means, Adam lr 0.01',
  },
  'light-augment-lr-0.01': {
    change: { augment: LIGHT_AUGMENT, learningRate: 0.01 },
    why: 'half the shape augmentation (shift 0.05, zoom 0.92–1.08, slant 0.12, rotation 0.08, stroke 0.25), Adam lr 0.01',
  },
};

interface RecipeResult {
  recipe: string;
  zoo: RunConfig['zoo'];
  loras: number;
  heldOut: MeanWithInterval; // mean held-out accuracy of LoRA + head over the LoRAs
  minusNn: MeanWithInterval; // LoRA − NN on the same held-out images, paired over the LoRAs
  minusProfile: MeanWithInterval | null; // held-out accuracy − the profile recipe's, paired over the LoRAs
  trainAccuracy: number; // mean over the LoRAs
  seconds: number; // mean tuning time per LoRA
  heldOutPerLora: number[];
  nnPerLora: number[];
}

const percent = (x: number) => `${(100 * x).toFixed(1)} %`;

async function main(): Promise<void> {
  const { values } = commandLine(
    { config: 'configs/glyph-domain.json', loras: '12', recipes: Object.keys(RECIPES).join(','), out: 'reports' },
    [],
  );
  const names = values.recipes.split(',');
  for (const name of names)
    if (!RECIPES[name]) throw new ConfigError(`unknown recipe "${name}"; expected one of ${Object.keys(RECIPES).join(', ')}`);
  const loras = Number(values.loras);
  if (!Number.isInteger(loras) || loras < 2) throw new ConfigError(`--loras must be an integer ≥ 2, found ${values.loras}`);
  const base = loadRunConfig(values.config);
  const config = profileFor('standard', base).config;
  const domain = mainSpec(base).loader; // the folders are named by the main data set, whatever the profile's default
  const reportDir = path.join(values.out, `teacher-recipes-${domain}`);
  const ports = createPorts();
  const backbone = await ports.loadBackbone(config);
  const results: RecipeResult[] = [];
  for (const name of names) {
    const zooConfig = { ...config.zoo, ...RECIPES[name].change, size: loras };
    console.log(`recipe ${name}: ${JSON.stringify(zooConfig)}`);
    const zoo = await ports.zoo(backbone, { ...config, zoo: zooConfig }, path.join(`${reportDir}-run`, name), {});
    try {
      const records = zoo.entries.map((entry, i) => {
        const r = entry.record;
        if (!r || r.heldOutAccuracy === null || r.nnHeldOutAccuracy === null)
          throw new ConfigError(`recipe ${name}: LoRA ${i} has no held-out accuracies (zoo.heldOut is 0?)`);
        return r as typeof r & { heldOutAccuracy: number; nnHeldOutAccuracy: number };
      });
      const heldOutPerLora = records.map((r) => r.heldOutAccuracy);
      const nnPerLora = records.map((r) => r.nnHeldOutAccuracy);
      const profile = results.find((r) => r.recipe === 'profile');
      results.push({
        recipe: name,
        zoo: zooConfig,
        loras,
        heldOut: meanWithInterval(heldOutPerLora),
        minusNn: pairedDifference(heldOutPerLora, nnPerLora),
        minusProfile: profile && name !== 'profile' ? pairedDifference(heldOutPerLora, profile.heldOutPerLora) : null,
        trainAccuracy: records.reduce((s, r) => s + r.trainAccuracy, 0) / records.length,
        seconds: records.reduce((s, r) => s + r.seconds, 0) / records.length,
        heldOutPerLora,
        nnPerLora,
      });
      console.log(JSON.stringify(results[results.length - 1]));
    } finally {
      zoo.dispose();
    }
  }
  writeJsonAtomic(path.join(reportDir, 'recipes.json'), { config: values.config, results });
  writeFileAtomic(path.join(reportDir, 'recipes.md'), markdown(values.config, results));
  backbone.dispose();
}

function markdown(config: string, results: RecipeResult[]): string {
  const row = (r: RecipeResult) =>
    `| ${r.recipe} | ${RECIPES[r.recipe].why} | ${r.loras} | ${percent(r.heldOut.mean)}${r.heldOut.ci95 === null ? '' : ` ± ${(100 * r.heldOut.ci95).toFixed(1)}`} | ${formatPoints(r.minusNn)} | ${r.minusProfile ? formatPoints(r.minusProfile) : '–'} | ${percent(r.trainAccuracy)} | ${r.seconds.toFixed(1)} |`;
  return [
    '# Teacher recipes',
    '',
    `Written by \`npm run exp:teacher-recipes -- --config ${config} ...\`. One zoo of base-class tasks, drawn as the`,
    "standard profile's zoo draws them, pre-tuned with each recipe; every other zoo setting is the profile's. Held-out: LoRA + head on the",
    "task's held-out images (other fonts of its classes), mean over the LoRAs with its 95 % interval (Student's t). − NN and",
    "− profile: paired over the LoRAs, in points. The teachers' gate needs ≥ 85 % held-out and ≥ +10 points over NN.",
    '',
    '| recipe | setting | LoRAs | held-out | − NN (points) | − profile (points) | train accuracy | seconds per LoRA |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...results.map(row),
    '',
  ].join('\n');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
