import * as fs from 'fs';
import { FileFormatError } from '../errors';

/**
 * The parsed contents of the JSON file `file`. An unreadable or malformed file throws
 * FileFormatError(file, `${failure} (<reason>)`), e.g. failure = 'not valid JSON'; the caller
 * then checks the shape.
 */
export function readJsonFile(file: string, failure: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new FileFormatError(file, `${failure} (${(error as Error).message})`);
  }
}
