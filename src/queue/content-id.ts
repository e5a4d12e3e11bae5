import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { ParallelJob } from '../parallel/jobs';
import { packageRoot } from '../paths/package-root';

/** Digest of a file, or of a directory (every file below it, by relative path); remembered per path, size and mtime. */
const digests = new Map<string, { stamp: string; digest: string }>();

export function fileDigest(target: string): string {
  const file = path.resolve(target);
  if (!fs.existsSync(file)) return 'missing'; // the job fails on it, with the job code's own message
  const stat = fs.statSync(file);
  if (stat.isDirectory()) {
    const hash = createHash('sha256');
    for (const name of fs.readdirSync(file).sort()) {
      if (name.startsWith('.')) continue; // temporary files of atomic writes
      hash.update(`${name}\0${fileDigest(path.join(file, name))}\0`);
    }
    return hash.digest('hex');
  }
  const stamp = `${stat.size}:${stat.mtimeMs}`;
  const known = digests.get(file);
  if (known && known.stamp === stamp) return known.digest;
  const digest = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  digests.set(file, { stamp, digest });
  return digest;
}

/** The code version in content ids: a finished job is reused only by the same release ("lora-recycle@0.1.0"). */
export function codeVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { name: string; version: string };
  return `${manifest.name}@${manifest.version}`;
}

/** JSON with object keys sorted, so equal inputs give equal text whatever order they were built in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The queue id of a job: sha256 of everything its result depends on — the job as given (id,
 * options, seed, episodes or task, zoo recipe, dataset spec, output path), the contents of its files (backbone,
 * LoRA, prior, generator, zoo directory, meta-LoRA) and the code version. Equal ids mean the same work: a job is run once per id.
 * The dataset is named by its spec (loader, size, limit), not hashed by content.
 */
export function jobContentId(job: ParallelJob, version: string): string {
  const files: Record<string, string> = { backbone: fileDigest(job.backbone) };
  if ((job.kind === 'invert-lora' || job.kind === 'evaluate-episodes') && job.lora) files.lora = fileDigest(job.lora);
  if (job.kind === 'evaluate-method') {
    if (job.zoo) files.zoo = fileDigest(job.zoo);
    if (job.meta) files.meta = fileDigest(job.meta);
  }
  if (job.kind === 'invert-lora' && job.prior) files.prior = fileDigest(job.prior);
  if (job.kind === 'invert-lora' && job.generator) files.generator = fileDigest(job.generator);
  return createHash('sha256').update(canonicalJson({ version, job, files })).digest('hex');
}
