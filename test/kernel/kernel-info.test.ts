import { describe, expect, it } from 'vitest';
import { kernelInfo } from '../../kernel/src/kernel-info';
import { autoChoiceText } from '../../src/backend';

describe('kernel_info banner', () => {
  it('names the tfjs backend selectBackend() will run on, and why', () => {
    const banner = kernelInfo().banner as string;
    expect(banner).toMatch(/lora-recycle kernel/);
    // the kernel reads the library's build (dist/); its answer is the source's answer
    expect(banner).toContain(`tfjs backend for selectBackend(): ${autoChoiceText()}`);
  });
});
