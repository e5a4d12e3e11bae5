import * as path from 'path';
import { LoRA } from '../adapters/lora';
import type { LoraParameters } from '../adapters/lora-parameters';
import { MissingResourceError } from '../errors';
import { disposeSurrogateSets, type ClassifierHead, type RecordedSurrogateSet } from './set';
import { listSurrogateSets, readSurrogateSet } from './file';

/** What can teach a surrogate set: a LoRA's factors and its task head (a zoo entry is one). */
export interface TeacherSource {
  id: string;
  parameters: LoraParameters;
  head: ClassifierHead | null;
}

/**
 * Every surrogate set saved under `dir` (one folder per inverted LoRA, named by its id), each read
 * back with its teacher: the LoRA of `teachers` with that id (a frozen adapter of its own) and its
 * head. A set whose LoRA is missing or has no head, or an empty `dir`, is an error naming it;
 * nothing read so far is left undisposed. The caller owns the sets (disposeSurrogateSets).
 */
export function readSurrogateSetsWithTeachers(dir: string, teachers: readonly TeacherSource[]): RecordedSurrogateSet[] {
  const byId = new Map(teachers.map((t) => [t.id, t]));
  const sets: RecordedSurrogateSet[] = [];
  try {
    for (const id of listSurrogateSets(dir)) {
      const teacher = byId.get(id);
      if (!teacher) throw new MissingResourceError(`surrogate ${id} has no LoRA of that id in the zoo (its teacher)`);
      if (!teacher.head) throw new MissingResourceError(`LoRA ${id} of the zoo has no task head, so it cannot teach its surrogates`);
      const adapter = LoRA.fromParameters(teacher.parameters, { trainable: false });
      try {
        sets.push(readSurrogateSet(path.join(dir, id), { adapter, head: teacher.head }));
      } catch (error) {
        adapter.dispose();
        throw error;
      }
    }
    if (sets.length === 0) throw new MissingResourceError(`no surrogates in ${dir}; run "lora-recycle invert" first`);
    return sets;
  } catch (error) {
    disposeSurrogateSets(sets);
    throw error;
  }
}
