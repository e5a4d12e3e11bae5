import { describe, expect, it } from 'vitest';
import { classifyEntry } from '../../../extension/src/logic/workspace';

describe('workspace entries', () => {
  it('recognises zoos and runs', () => {
    expect(classifyEntry({ name: 'zoo-emoji', path: 'zoo-emoji', type: 'directory' }, '')).toBe('zoo');
    expect(classifyEntry({ name: 'a.zoo.json', path: 'a.zoo.json', type: 'file' }, '')).toBe('zoo');
    expect(classifyEntry({ name: 'meta-1', path: 'runs/meta-1', type: 'directory' }, 'runs')).toBe('run');
    expect(classifyEntry({ name: 'notes.md', path: 'notes.md', type: 'file' }, '')).toBeNull();
  });
});
