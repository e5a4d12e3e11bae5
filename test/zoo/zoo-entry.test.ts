import { describe, expect, it } from 'vitest';
import { recordedTuningSeconds, type TuningRecord, type ZooEntry } from '../../src/zoo';

const entry = (seconds: number | null): ZooEntry =>
  ({
    id: 'lora',
    record:
      seconds === null
        ? null
        : ({
            steps: 1,
            learningRate: 1e-3,
            seed: 1,
            finalLoss: 0,
            trainAccuracy: 1,
            heldOutAccuracy: null,
            heldOutImages: 0,
            seconds,
          } as TuningRecord),
  }) as ZooEntry;

describe('recordedTuningSeconds', () => {
  it('sums the tuning seconds the records give, skipping LoRAs tuned elsewhere', () => {
    expect(recordedTuningSeconds([entry(35.5), entry(null), entry(4.5)])).toBe(40);
  });

  it('is undefined where no LoRA records its tuning (an imported zoo)', () => {
    expect(recordedTuningSeconds([entry(null)])).toBeUndefined();
    expect(recordedTuningSeconds([])).toBeUndefined();
  });
});
