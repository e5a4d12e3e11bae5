/**
 * MIME bundles: how a value becomes `data` of display_data / execute_result. Objects describe
 * themselves with a method under `Symbol.for("Jupyter.display")` returning a bundle (Deno's
 * convention); `+json` payloads travel as JSON objects, binary payloads as base64.
 */
import * as util from "util";

export type MimeBundle = Record<string, unknown>;

export const DISPLAY_SYMBOL = Symbol.for("Jupyter.display");

/** A value that cannot be shown: its display method threw or returned something other than a bundle. */
export class DisplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DisplayError";
  }
}

export function hasDisplayMethod(value: unknown): boolean {
  return (
    (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as any)[DISPLAY_SYMBOL] === "function"
  );
}

/**
 * The bundle for `value`: its own `[Symbol.for("Jupyter.display")]()` if it has one, else
 * `text/plain` from util.inspect (strings shown as they are when `plainStrings`).
 */
export function toBundle(value: unknown, plainStrings = false): MimeBundle {
  if (hasDisplayMethod(value)) {
    const bundle = (value as any)[DISPLAY_SYMBOL]();
    if (typeof bundle !== "object" || bundle === null || Array.isArray(bundle)) {
      throw new DisplayError(
        `[Symbol.for("Jupyter.display")]() must return a MIME bundle object, found ${util.inspect(bundle, { depth: 0 })}`,
      );
    }
    return normalizeBundle(bundle);
  }
  if (plainStrings && typeof value === "string") return { "text/plain": value };
  return { "text/plain": util.inspect(value, { depth: 4, maxArrayLength: 50, breakLength: 100 }) };
}

/** Checks and converts a raw bundle: JSON types as objects, bytes as base64, text as strings. */
export function normalizeBundle(bundle: Record<string, unknown>): MimeBundle {
  const out: MimeBundle = {};
  for (const [mime, payload] of Object.entries(bundle)) {
    if (payload === undefined) continue;
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(mime)) throw new DisplayError(`expected a MIME type as bundle key, found "${mime}"`);
    out[mime] = isJsonMime(mime) ? asJson(mime, payload) : asText(mime, payload);
  }
  return out;
}

export function isJsonMime(mime: string): boolean {
  return mime === "application/json" || mime.endsWith("+json");
}

function asJson(mime: string, payload: unknown): unknown {
  if (typeof payload !== "string") return JSON.parse(JSON.stringify(payload));
  try {
    return JSON.parse(payload);
  } catch {
    throw new DisplayError(`${mime}: expected a JSON object or JSON text, found a string that is not JSON`);
  }
}

function asText(mime: string, payload: unknown): string {
  if (typeof payload === "string") return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload).toString("base64");
  throw new DisplayError(`${mime}: expected a string or bytes, found ${typeof payload}`);
}
