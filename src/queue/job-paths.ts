import * as path from 'path';
import type { ParallelJob } from '../parallel/jobs';

const absolute = (file: string | undefined) => (file === undefined ? undefined : path.resolve(file));

/**
 * The job with every path in it absolute (resolved against this process's working directory):
 * the workers that read and write them run with other working directories, on other hosts.
 */
export function withAbsolutePaths<J extends ParallelJob>(job: J): J {
  if (job.kind === 'invert-lora') {
    return {
      ...job,
      backbone: absolute(job.backbone)!,
      lora: absolute(job.lora)!,
      prior: absolute(job.prior),
      ...(job.generator === undefined ? {} : { generator: absolute(job.generator) }),
      output: absolute(job.output)!,
    };
  }
  const dataset = job.dataset.cacheDir === undefined ? job.dataset : { ...job.dataset, cacheDir: absolute(job.dataset.cacheDir) };
  if (job.kind === 'pretune-lora') return { ...job, backbone: absolute(job.backbone)!, dataset, output: absolute(job.output)! };
  if (job.kind === 'evaluate-method')
    return { ...job, backbone: absolute(job.backbone)!, zoo: absolute(job.zoo), meta: absolute(job.meta), dataset };
  return { ...job, backbone: absolute(job.backbone)!, lora: absolute(job.lora), dataset };
}
