import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CompatibilityError, MissingResourceError } from '../errors';
import { loadLoraFile } from '../io/lora-file';
import { loadPeftAdapter } from '../io/peft-adapter';
import { LinearHead } from '../model/head';
import type { VisionTransformer } from '../model/vision-transformer';
import { backboneFingerprint } from './backbone-fingerprint';
import { readZooManifest, writeZooManifest, ZOO_FORMAT, type ZooManifest, type ZooManifestEntry } from './manifest';
import { Zoo } from './zoo';
import type { ZooEntry } from './zoo-entry';

function resolveEntryPath(dir: string, entry: ZooManifestEntry): string {
  return path.isAbsolute(entry.path) ? entry.path : path.join(dir, entry.path);
}

function loadEntry(dir: string, entry: ZooManifestEntry, backbone: VisionTransformer): ZooEntry {
  const file = resolveEntryPath(dir, entry);
  if (!fs.existsSync(file)) throw new MissingResourceError(`zoo ${dir}: LoRA "${entry.id}" is missing (${file})`);
  const loaded = entry.format === 'peft' ? loadPeftAdapter(file, backbone.config) : loadLoraFile(file, backbone.config);
  let head: LinearHead | null = null;
  if (loaded.head) {
    head = LinearHead.fromTensors(loaded.head.weight, loaded.head.bias);
    tf.dispose([loaded.head.weight, loaded.head.bias]);
  }
  return { id: entry.id, parameters: loaded.parameters, head, classIds: entry.classIds, record: entry.record };
}

/** The manifest of `dir`, checked to belong to the backbone with `fingerprint`. */
function manifestFor(dir: string, fingerprint: string): ZooManifest {
  const manifest = readZooManifest(dir);
  if (!manifest) throw new MissingResourceError(`${dir} holds no LoRA zoo (no zoo.json); build one with buildZoo or "lora-recycle zoo"`);
  if (manifest.backbone.fingerprint !== fingerprint) {
    throw new CompatibilityError(
      `zoo ${dir} was tuned on backbone ${manifest.backbone.fingerprint}, not on this one (${fingerprint}); ` +
      'its LoRAs only make sense with the backbone they were tuned on',
    );
  }
  return manifest;
}

/**
 * Loads the zoo in `dir` (zoo.json + LoRA files, and PEFT adapter directories it lists) for
 * `backbone`; every factor and head is checked against the backbone. The caller owns the Zoo.
 */
export function loadZoo(dir: string, backbone: VisionTransformer): Zoo {
  const fingerprint = backboneFingerprint(backbone);
  const manifest = manifestFor(dir, fingerprint);
  const entries: ZooEntry[] = [];
  try {
    for (const entry of manifest.entries) entries.push(loadEntry(dir, entry, backbone));
  } catch (error) {
    new Zoo(entries, fingerprint).dispose();
    throw error;
  }
  return new Zoo(entries, fingerprint, dir);
}

/**
 * Adds LoRAs saved elsewhere by PEFT's `save_pretrained` (directories with adapter_config.json
 * and adapter_model.safetensors) to the zoo in `dir`, creating the zoo when absent. Each is
 * read once to check it fits `backbone`. A PEFT adapter has no head or class ids: such entries
 * serve composition baselines and the zoo view, not inversion (which needs a head).
 */
export function addPeftAdapters(dir: string, backbone: VisionTransformer, adapters: { id: string; path: string }[]): void {
  const fingerprint = backboneFingerprint(backbone);
  const manifest: ZooManifest = readZooManifest(dir) ? manifestFor(dir, fingerprint)
    : { format: ZOO_FORMAT, backbone: { fingerprint, config: backbone.config }, recipe: null, entries: [] };
  for (const adapter of adapters) {
    if (manifest.entries.some((e) => e.id === adapter.id)) throw new CompatibilityError(`zoo ${dir} already has a LoRA "${adapter.id}"`);
    const entry: ZooManifestEntry = { id: adapter.id, format: 'peft', path: path.resolve(adapter.path), classIds: [], record: null };
    const loaded = loadEntry(dir, entry, backbone);
    tf.dispose(loaded.parameters.factors.flatMap((f) => [f.a, f.b]));
    manifest.entries.push(entry);
  }
  fs.mkdirSync(dir, { recursive: true });
  writeZooManifest(dir, manifest);
}

/** The file of LoRA `id` of the zoo saved in `dir` (from its manifest). */
export function zooEntryFile(dir: string, id: string): string {
  const entry = readZooManifest(dir)?.entries.find((e) => e.id === id);
  if (!entry) throw new MissingResourceError(`zoo ${dir} lists no LoRA "${id}"`);
  return resolveEntryPath(dir, entry);
}
