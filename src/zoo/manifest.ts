import type { ProjectionName } from '../model/weights';
import type { AdversarialOptions } from '../training/adversarial';
import type { ShapeAugmentOptions } from '../training/shape-augment';
import * as fs from 'fs';
import * as path from 'path';
import { FileFormatError } from '../errors';
import { writeJsonAtomic } from '../io/atomic-write';
import type { ViTConfig } from '../model/config';
import type { TuningRecord } from './zoo-entry';
import { readJsonFile } from '../io/read-json';

export const ZOO_FORMAT = 'lora-zoo@1';
export const MANIFEST_FILE = 'zoo.json';

/** One LoRA of a zoo on disk: our LoRA file, or a PEFT adapter directory saved elsewhere. */
export interface ZooManifestEntry {
  id: string;
  format: 'lora' | 'peft';
  path: string; // relative to the zoo directory, or absolute
  classIds: string[];
  record: TuningRecord | null;
}

/** How the LoRAs of a tuned zoo were made: the tasks' data set and shape, the tuning settings, the seed. */
export interface ZooRecipe {
  dataset: string; // "<name>:<split>"
  ways: number;
  shots: number;
  rank: number;
  steps: number;
  learningRate: number;
  seed: number; // of the tasks; LoRA i is tuned with seed + i
  heldOut?: number; // images per class measuring each LoRA; absent: 5
  targets?: ProjectionName[]; // the projections each LoRA adapts; absent: q and v
  augment?: ShapeAugmentOptions; // shape augmentation while tuning; absent: none
  adversarial?: AdversarialOptions; // adversarial training (L2 PGD) while tuning; absent: none
  headInit?: 'prototypes'; // each head started from the class means of the frozen features; absent: random
}

/** zoo.json: which backbone the LoRAs belong to, how they were made, and the entries in order. */
export interface ZooManifest {
  format: typeof ZOO_FORMAT;
  backbone: { fingerprint: string; config: ViTConfig };
  /** The recipe of tuned entries (absent for a zoo of imported LoRAs only). */
  recipe: ZooRecipe | null;
  entries: ZooManifestEntry[];
}

export function manifestPath(dir: string): string {
  return path.join(dir, MANIFEST_FILE);
}

/** Checks `manifest` as readZooManifest would, then writes it atomically. */
export function writeZooManifest(dir: string, manifest: ZooManifest): void {
  writeJsonAtomic(manifestPath(dir), validateZooManifest(manifest, manifestPath(dir)));
}

/** Reads and checks zoo.json of `dir`; undefined when the directory holds no zoo yet. */
export function readZooManifest(dir: string): ZooManifest | undefined {
  const file = manifestPath(dir);
  if (!fs.existsSync(file)) return undefined;
  const json = readJsonFile(file, 'not valid JSON');
  return validateZooManifest(json, file);
}

function fail(file: string, message: string): never {
  throw new FileFormatError(file, message);
}

export function validateZooManifest(json: unknown, file: string): ZooManifest {
  const m = json as Partial<ZooManifest> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(file, 'expected a JSON object');
  if (m.format !== ZOO_FORMAT) fail(file, `"format" must be "${ZOO_FORMAT}", found ${JSON.stringify(m.format)}`);
  const backbone = m.backbone;
  if (typeof backbone?.fingerprint !== 'string' || typeof backbone.config !== 'object' || backbone.config === null) {
    fail(file, '"backbone" must hold a "fingerprint" string and the backbone "config"');
  }
  if (!Array.isArray(m.entries)) fail(file, '"entries" must be a list');
  const ids = new Set<string>();
  m.entries.forEach((e, i) => {
    const where = `entries[${i}]`;
    if (typeof e?.id !== 'string' || !/^[\w.-]+$/.test(e.id))
      fail(file, `${where}.id must be a name of letters, digits, "_", "." or "-", found ${JSON.stringify(e?.id)}`);
    if (ids.has(e.id)) fail(file, `${where}.id "${e.id}" appears twice`);
    ids.add(e.id);
    if (e.format !== 'lora' && e.format !== 'peft')
      fail(file, `${where}.format must be "lora" or "peft", found ${JSON.stringify(e.format)}`);
    if (typeof e.path !== 'string' || e.path === '') fail(file, `${where}.path must be a non-empty string`);
    if (!Array.isArray(e.classIds) || !e.classIds.every((c) => typeof c === 'string'))
      fail(file, `${where}.classIds must be a list of strings`);
    if (e.record !== null && (typeof e.record !== 'object' || !Number.isFinite(e.record?.steps)))
      fail(file, `${where}.record must be a tuning record or null`);
  });
  return m as ZooManifest;
}
