import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../errors';
import type { ZooManifestEntry } from './manifest';

const ADAPTER_CONFIG = 'adapter_config.json';
const ID = /^[\w.-]+$/;

/**
 * A zoo without zoo.json: `dir` holds one PEFT adapter directory per LoRA (as `save_pretrained`
 * writes them, each with its head.safetensors + classes.json where inversion needs a head), or is
 * itself one adapter directory. The entries, in name order, with the directory (or link) names as
 * ids; null when `dir` holds no adapter directory. Subdirectories without adapter_config.json are
 * not LoRAs and are passed over; symbolic links to adapter directories are followed.
 */
export function peftFolderEntries(dir: string): ZooManifestEntry[] | null {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return null;
  const entry = (folder: string): ZooManifestEntry => {
    const id = path.basename(folder);
    if (!ID.test(id))
      throw new ConfigError(
        `PEFT adapter directory ${folder}: its name is the LoRA's id and must consist of letters, digits, "_", "." or "-"`,
      );
    return { id, format: 'peft', path: path.resolve(folder), classIds: [], record: null };
  };
  if (fs.existsSync(path.join(dir, ADAPTER_CONFIG))) return [entry(dir)];
  const folders = fs
    .readdirSync(dir) // links to adapter directories kept elsewhere count (existsSync follows them)
    .filter((name) => fs.existsSync(path.join(dir, name, ADAPTER_CONFIG)))
    .sort();
  return folders.length === 0 ? null : folders.map((name) => entry(path.join(dir, name)));
}
