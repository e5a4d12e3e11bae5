import { FileFormatError } from '../errors';
import { writeJsonAtomic } from '../io/atomic-write';
import { SPLITS } from './dataset';
import type { Episode, EpisodeList } from './episodes';
import { readJsonFile } from '../io/read-json';

/** Writes a fixed episode list as JSON, atomically (checked first, so no bad file is written). */
export function saveEpisodes(filePath: string, list: EpisodeList): void {
  validateEpisodeList(list, filePath);
  writeJsonAtomic(filePath, list);
}

/** Reads an episode list written by saveEpisodes; every field is checked (FileFormatError naming it). */
export function loadEpisodes(filePath: string): EpisodeList {
  const value = readJsonFile(filePath, 'not a readable JSON episode list');
  return validateEpisodeList(value, filePath);
}

type Fail = (detail: string) => never;

function integer(value: unknown, name: string, fail: Fail, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be an integer in ${min}..${max}, found ${JSON.stringify(value)}`);
  }
  return value as number;
}

function integers(value: unknown, name: string, fail: Fail, min: number, max?: number): number[] {
  if (!Array.isArray(value)) fail(`${name} must be an array of integers, found ${JSON.stringify(value)}`);
  (value as unknown[]).forEach((v, i) => integer(v, `${name}[${i}]`, fail, min, max));
  return value as number[];
}

function strings(value: unknown, name: string, fail: Fail): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) fail(`${name} must be an array of strings`);
  return value as string[];
}

function validateEpisode(e: Episode, where: string, list: EpisodeList, fail: Fail): void {
  if (typeof e !== 'object' || e === null) fail(`${where} must be an object`);
  const { ways, shots, queries } = list;
  const classIds = strings(e.classIds, `${where}.classIds`, fail);
  if (classIds.length !== ways || new Set(classIds).size !== ways)
    fail(`${where}.classIds must hold ${ways} distinct class ids, found ${JSON.stringify(classIds)}`);
  const supportImages = integers(e.supportImages, `${where}.supportImages`, fail, 0);
  const supportLabels = integers(e.supportLabels, `${where}.supportLabels`, fail, 0, ways - 1);
  if (supportImages.length !== ways * shots || supportLabels.length !== ways * shots) {
    fail(`${where}: support must hold N·K = ${ways * shots} images and labels, found ${supportImages.length} and ${supportLabels.length}`);
  }
  const perClass = integers(e.queriesPerClass, `${where}.queriesPerClass`, fail, 1, queries);
  if (perClass.length !== ways) fail(`${where}.queriesPerClass must have N = ${ways} entries, found ${perClass.length}`);
  const queryImages = integers(e.queryImages, `${where}.queryImages`, fail, 0);
  const queryLabels = integers(e.queryLabels, `${where}.queryLabels`, fail, 0, ways - 1);
  for (let label = 0; label < ways; label++) {
    const k = supportLabels.filter((l) => l === label).length;
    if (k !== shots) fail(`${where}: class ${label} has ${k} support images, expected K = ${shots}`);
    const q = queryLabels.filter((l) => l === label).length;
    if (q !== perClass[label]) fail(`${where}: class ${label} has ${q} query images, its queriesPerClass says ${perClass[label]}`);
  }
  if (queryImages.length !== queryLabels.length)
    fail(`${where}: ${queryImages.length} query images but ${queryLabels.length} query labels`);
  const supportSet = new Set(supportImages);
  if (supportSet.size !== supportImages.length) fail(`${where}: an image appears twice in support`);
  const shared = queryImages.find((i) => supportSet.has(i));
  if (shared !== undefined) fail(`${where}: image ${shared} is in both support and query`);
  if (new Set(queryImages).size !== queryImages.length) fail(`${where}: an image appears twice in query`);
  if (list.disjointSources) {
    const supportSources = strings(e.supportSources, `${where}.supportSources`, fail);
    const querySources = strings(e.querySources, `${where}.querySources`, fail);
    const overlap = supportSources.find((s) => querySources.includes(s));
    if (overlap !== undefined) fail(`${where}: source ${overlap} is in both supportSources and querySources`);
  } else if (e.supportSources !== undefined || e.querySources !== undefined) {
    fail(`${where}: supportSources/querySources given but disjointSources is false`);
  }
}

/** Checks that `value` is a complete, consistent EpisodeList; the error names the first bad field. */
export function validateEpisodeList(value: unknown, filePath?: string): EpisodeList {
  const fail: Fail = (detail) => {
    throw new FileFormatError(filePath, `episode list: ${detail}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('must be a JSON object');
  const list = value as EpisodeList;
  if (list.format !== 'lora-recycle-episodes/1') fail(`format must be "lora-recycle-episodes/1", found ${JSON.stringify(list.format)}`);
  if (typeof list.dataset !== 'string' || list.dataset === '') fail('dataset must be a non-empty string');
  if (!SPLITS.includes(list.split)) fail(`split must be one of ${SPLITS.join(', ')}, found ${JSON.stringify(list.split)}`);
  integer(list.imageSize, 'imageSize', fail, 1);
  integer(list.ways, 'ways', fail, 1);
  integer(list.shots, 'shots', fail, 1);
  integer(list.queries, 'queries', fail, 1);
  integer(list.seed, 'seed', fail, 0, 0xffffffff);
  if (typeof list.disjointSources !== 'boolean')
    fail(`disjointSources must be true or false, found ${JSON.stringify(list.disjointSources)}`);
  if (typeof list.queryRule !== 'string') fail('queryRule must be a string');
  strings(list.skippedClasses, 'skippedClasses', fail);
  if (!Array.isArray(list.episodes) || list.episodes.length === 0) fail('episodes must be a non-empty array');
  list.episodes.forEach((e, i) => validateEpisode(e, `episodes[${i}]`, list, fail));
  return list;
}
