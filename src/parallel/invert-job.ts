import { LoRA } from '../adapters/lora';
import { ConfigError } from '../errors';
import { invertLora } from '../inversion';
import { disposeLoraRecord } from '../io/lora-file';
import { loadLoraRecord } from '../io/load-lora';
import { writeSurrogateSet } from '../surrogate/file';
import type { Teacher } from '../surrogate/set';
import type { ViTConfig } from '../model/config';
import { LinearHead } from '../model/head';
import type { ImagePrior } from '../prior/image-prior';
import { loadPrior } from '../prior/prior-file';
import { loadGlyphVae } from '../prior/glyph-vae-file';
import type { GlyphVae } from '../prior/glyph-vae';
import type { RunControl } from '../progress/events';
import type { InvertLoraJob, InvertLoraSummary } from './jobs';
import type { JobResources } from './resources';

/**
 * A LoRA file with a head, or a PEFT adapter directory with head.safetensors and classes.json,
 * as an inversion teacher; also its class ids. The caller disposes both models.
 */
export function loadTeacher(file: string, config: ViTConfig): { teacher: Teacher & { dispose(): void }; classIds: string[] } {
  const record = loadLoraRecord(file, config);
  try {
    if (!record.head)
      throw new ConfigError(
        `${file}: the LoRA has no task head, and inversion needs the head as its teacher's classifier (for a PEFT directory: head.safetensors and classes.json beside the adapter)`,
      );
    const adapter = LoRA.fromParameters(record.parameters);
    const head = LinearHead.fromTensors(record.head.weight, record.head.bias);
    return {
      teacher: {
        adapter,
        head,
        dispose: () => {
          adapter.dispose();
          head.dispose();
        },
      },
      classIds: record.classIds,
    };
  } finally {
    disposeLoraRecord(record);
  }
}

/**
 * Inverts the job's LoRA (invertLora with the backbone, its teacher, and the prior and generator, if any) and
 * writes its surrogate set to the directory job.output (writeSurrogateSet, atomically). Events
 * are invertLora's (run = job id unless the options name one); the signal stops before the next
 * step with CancelledError, and nothing is written.
 */
export async function runInvertLora(job: InvertLoraJob, resources: JobResources, control: RunControl = {}): Promise<InvertLoraSummary> {
  const backbone = resources.backbone(job.backbone);
  const { teacher, classIds } = loadTeacher(job.lora, backbone.config);
  let prior: ImagePrior | null = null;
  let generator: GlyphVae | null = null;
  try {
    prior = job.prior ? loadPrior(job.prior) : null;
    generator = job.generator ? loadGlyphVae(job.generator) : null;
    const classNames = job.options.classNames ?? (classIds.length === job.options.ways ? classIds : undefined);
    const result = await invertLora(backbone, teacher, prior, {
      ...job.options,
      generator,
      run: job.options.run ?? job.id,
      classNames,
      onEvent: control.onEvent,
      signal: control.signal,
    });
    try {
      writeSurrogateSet(job.output, {
        pixels: result.pixels,
        masks: result.keptPatches ? result.masks : null,
        targets: result.targets,
        keptPatches: result.keptPatches,
        record: result.surrogateRecord(job.lora),
      });
      const confidence = result.targetConfidence;
      return {
        kind: 'invert-lora',
        id: job.id,
        output: job.output,
        images: result.targets.length,
        steps: result.steps,
        totalSteps: result.totalSteps,
        lastStep: result.history[result.history.length - 1] ?? null,
        meanTargetConfidence: confidence.reduce((a, b) => a + b, 0) / confidence.length,
        iterationsPerSecond: result.iterationsPerSecond,
      };
    } finally {
      result.dispose();
    }
  } finally {
    teacher.dispose();
    prior?.dispose();
    generator?.dispose();
  }
}
