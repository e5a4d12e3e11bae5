import type { RunControl } from '../progress/events';
import { runEvaluateEpisodes } from './evaluate-job';
import { runEvaluateMethod } from './evaluate-method-job';
import { runInvertLora } from './invert-job';
import type { JobResult, ParallelJob } from './jobs';
import { runPretuneLora } from './pretune-job';
import type { JobResources } from './resources';

/** Runs one job in this thread (what a worker does with each job it is given). */
export function runJob(job: ParallelJob, resources: JobResources, control: RunControl = {}): Promise<JobResult> {
  switch (job.kind) {
    case 'evaluate-episodes':
      return runEvaluateEpisodes(job, resources, control);
    case 'invert-lora':
      return runInvertLora(job, resources, control);
    case 'pretune-lora':
      return runPretuneLora(job, resources, control);
    case 'evaluate-method':
      return runEvaluateMethod(job, resources, control);
  }
}
