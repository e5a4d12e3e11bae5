import { zooBundle, type MimeBundle } from '../display/bundles';
import type { ZooLora } from '../display/payloads';
import { HF_TARGET } from '../io/peft-names';
import { disposeZooEntry, type ZooEntry } from './zoo-entry';

/** One entry as the zoo view shows it (null fields of its tuning record left out). */
function zooLora(entry: ZooEntry): ZooLora {
  const record: Record<string, number | string> = {};
  for (const [key, value] of Object.entries(entry.record ?? {})) if (value !== null) record[key] = value;
  return {
    id: entry.id,
    classes: entry.classIds,
    rank: entry.parameters.rank,
    targets: [...new Set(entry.parameters.factors.map((f) => HF_TARGET[f.site.projection]))],
    record: entry.record ? record : undefined,
  };
}

/**
 * The pre-tuned LoRAs of one backbone (method.md §1.1), in manifest order. Owns the entries'
 * tensors (dispose()). Shows itself as the zoo view in Jupyter (Symbol.for('Jupyter.display')).
 */
export class Zoo {
  constructor(
    readonly entries: ZooEntry[],
    readonly backboneFingerprint: string,
    readonly directory: string | null = null,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  entry(id: string): ZooEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  dispose(): void {
    this.entries.forEach(disposeZooEntry);
  }

  [Symbol.for('Jupyter.display')](): MimeBundle {
    const title = `LoRA zoo: ${this.size} LoRAs${this.directory ? ` in ${this.directory}` : ''}`;
    return zooBundle({ title, backbone: this.backboneFingerprint, loras: this.entries.map(zooLora) });
  }
}
