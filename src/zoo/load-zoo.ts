import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CompatibilityError, MissingResourceError } from '../errors';
import { disposeLoraRecord, loadLoraFile } from '../io/lora-file';
import { loadPeftAdapter } from '../io/peft-adapter';
import { LinearHead } from '../model/head';
import type { VisionTransformer } from '../model/vision-transformer';
import { backboneFingerprint } from './backbone-fingerprint';
import { readZooManifest, writeZooManifest, ZOO_FORMAT, type ZooManifest, type ZooManifestEntry } from './manifest';
import { peftFolderEntries } from './peft-folders';
import { Zoo } from './zoo';
import { disposeZooEntry, type ZooEntry } from './zoo-entry';

function resolveEntryPath(dir: string, entry: ZooManifestEntry): string {
  return path.isAbsolute(entry.path) ? entry.path : path.join(dir, entry.path);
}

/** One LoRA with its head; the class ids are the manifest's, else the file's (a PEFT adapter's classes.json). */
function loadEntry(dir: string, entry: ZooManifestEntry, backbone: VisionTransformer): ZooEntry {
  const file = resolveEntryPath(dir, entry);
  if (!fs.existsSync(file)) throw new MissingResourceError(`zoo ${dir}: LoRA "${entry.id}" is missing (${file})`);
  const loaded = entry.format === 'peft' ? loadPeftAdapter(file, backbone.config) : loadLoraFile(file, backbone.config);
  const classIds = entry.classIds.length > 0 ? entry.classIds : loaded.classIds;
  if (loaded.head && classIds.length > 0 && classIds.length !== loaded.head.bias.shape[0]) {
    disposeLoraRecord(loaded);
    throw new CompatibilityError(
      `zoo ${dir}: LoRA "${entry.id}" lists ${classIds.length} class ids for a head of ${loaded.head.bias.shape[0]} classes`,
    );
  }
  let head: LinearHead | null = null;
  if (loaded.head) {
    head = LinearHead.fromTensors(loaded.head.weight, loaded.head.bias);
    tf.dispose([loaded.head.weight, loaded.head.bias]);
  }
  return { id: entry.id, parameters: loaded.parameters, head, classIds, record: entry.record };
}

/** `manifest` of zoo `dir`, checked to belong to the backbone with `fingerprint`. */
function checkedManifest(dir: string, manifest: ZooManifest, fingerprint: string): ZooManifest {
  if (manifest.backbone.fingerprint !== fingerprint) {
    throw new CompatibilityError(
      `zoo ${dir} was tuned on backbone ${manifest.backbone.fingerprint}, not on this one (${fingerprint}); ` +
        'its LoRAs only make sense with the backbone they were tuned on',
    );
  }
  return manifest;
}

/**
 * The entries of the zoo in `dir`: its zoo.json's (checked to belong to the backbone with
 * `fingerprint`), else its PEFT adapter directories' (peft-folders.ts, which name no backbone).
 */
function zooEntriesIn(dir: string, fingerprint?: string): ZooManifestEntry[] {
  const manifest = readZooManifest(dir);
  if (manifest) return (fingerprint === undefined ? manifest : checkedManifest(dir, manifest, fingerprint)).entries;
  const folders = peftFolderEntries(dir);
  if (!folders) {
    throw new MissingResourceError(
      `${dir} holds no LoRA zoo: no zoo.json (build one with buildZoo or "lora-recycle zoo") and no PEFT adapter ` +
        'directories (one subdirectory per LoRA with adapter_config.json and adapter_model.safetensors)',
    );
  }
  return folders;
}

/**
 * Loads the zoo in `dir` for `backbone`: zoo.json with its LoRA files and the PEFT adapter
 * directories it lists, or, without zoo.json, the PEFT adapter directories in `dir` (each with its
 * head.safetensors + classes.json where present). Every factor and head is checked against the
 * backbone. The caller owns the Zoo.
 */
export function loadZoo(dir: string, backbone: VisionTransformer): Zoo {
  const fingerprint = backboneFingerprint(backbone);
  const listed = zooEntriesIn(dir, fingerprint);
  const entries: ZooEntry[] = [];
  try {
    for (const entry of listed) entries.push(loadEntry(dir, entry, backbone));
  } catch (error) {
    new Zoo(entries, fingerprint).dispose();
    throw error;
  }
  return new Zoo(entries, fingerprint, dir);
}

/**
 * Adds LoRAs saved elsewhere by PEFT's `save_pretrained` (directories with adapter_config.json
 * and adapter_model.safetensors) to the zoo in `dir`, creating the zoo when absent. Each is
 * read once to check it fits `backbone`. PEFT saves no head: an adapter without head.safetensors
 * + classes.json beside it (peft-head.ts) serves composition baselines and the zoo view, not
 * inversion (which needs a head).
 */
export function addPeftAdapters(dir: string, backbone: VisionTransformer, adapters: { id: string; path: string }[]): void {
  const fingerprint = backboneFingerprint(backbone);
  const existing = readZooManifest(dir);
  const manifest: ZooManifest = existing
    ? checkedManifest(dir, existing, fingerprint)
    : { format: ZOO_FORMAT, backbone: { fingerprint, config: backbone.config }, recipe: null, entries: [] };
  for (const adapter of adapters) {
    if (manifest.entries.some((e) => e.id === adapter.id)) throw new CompatibilityError(`zoo ${dir} already has a LoRA "${adapter.id}"`);
    const entry: ZooManifestEntry = { id: adapter.id, format: 'peft', path: path.resolve(adapter.path), classIds: [], record: null };
    const loaded = loadEntry(dir, entry, backbone);
    disposeZooEntry(loaded);
    manifest.entries.push({ ...entry, classIds: loaded.classIds });
  }
  fs.mkdirSync(dir, { recursive: true });
  writeZooManifest(dir, manifest);
}

/** The file (or PEFT adapter directory) of LoRA `id` of the zoo saved in `dir` (zoo.json or PEFT directories). */
export function zooEntryFile(dir: string, id: string): string {
  const entry = zooEntriesIn(dir).find((e) => e.id === id);
  if (!entry) throw new MissingResourceError(`zoo ${dir} lists no LoRA "${id}"`);
  return resolveEntryPath(dir, entry);
}
