/** The product of inversion: the surrogate set type, its teacher, and its one file format. */
export { disposeSurrogateSets } from './set';
export type { ClassifierHead, RecordedSurrogateSet, SurrogateRecord, SurrogateSet, Teacher } from './set';
export {
  listSurrogateSets,
  readSurrogateData,
  readSurrogateSet,
  writeSurrogateSet,
  SURROGATE_FORMAT,
  SURROGATE_JSON,
  SURROGATE_TENSORS,
} from './file';
export type { SurrogateData } from './file';
export type { SurrogateFileInfo } from './validate';
export { readSurrogateSetsWithTeachers } from './teachers';
export type { TeacherSource } from './teachers';
