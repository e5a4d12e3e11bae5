/**
 * The Jupyter wire protocol (messaging 5.3): splitting ZeroMQ frames into a message,
 * HMAC-SHA256 signing and checking, and building replies.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol
 */
import { createHmac, randomUUID, timingSafeEqual } from "crypto";

export const PROTOCOL_VERSION = "5.3";
/** Every message the kernel sends carries this session id in its header. */
export const KERNEL_SESSION = randomUUID();
const DELIMITER = Buffer.from("<IDS|MSG>");

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface Message<C = Record<string, any>> {
  /** ZeroMQ routing prefix (ROUTER identities); empty for IOPub. */
  identities: Buffer[];
  header: Header;
  parent_header: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** A message the kernel refuses: bad signature, missing delimiter, unparsable JSON. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

export class Signer {
  constructor(
    private readonly key: string,
    scheme = "hmac-sha256",
  ) {
    if (key && scheme !== "hmac-sha256") {
      throw new WireError(`signature_scheme: expected "hmac-sha256", found ${JSON.stringify(scheme)}`);
    }
  }

  sign(parts: Array<Buffer | string>): string {
    if (!this.key) return "";
    const hmac = createHmac("sha256", this.key);
    for (const p of parts) hmac.update(p);
    return hmac.digest("hex");
  }

  /** Constant-time comparison; an empty key disables signing (as jupyter_client allows). */
  verify(signature: string, parts: Buffer[]): boolean {
    if (!this.key) return true;
    const expected = Buffer.from(this.sign(parts));
    const found = Buffer.from(signature);
    return expected.length === found.length && timingSafeEqual(expected, found);
  }
}

function parseJson(frame: Buffer | undefined, what: string): any {
  if (frame === undefined) throw new WireError(`message has no ${what} frame`);
  try {
    return JSON.parse(frame.toString("utf8"));
  } catch {
    throw new WireError(`${what} frame is not valid JSON`);
  }
}

/** Frames → Message; throws WireError when the delimiter, signature or JSON is wrong. */
export function decode(frames: Buffer[], signer: Signer): Message {
  const delim = frames.findIndex((f) => f.equals(DELIMITER));
  if (delim < 0) throw new WireError("message has no <IDS|MSG> delimiter");
  const signature = frames[delim + 1]?.toString("ascii") ?? "";
  const parts = frames.slice(delim + 2);
  if (parts.length < 4) throw new WireError(`expected 4 message frames after the signature, found ${parts.length}`);
  if (!signer.verify(signature, parts.slice(0, 4))) throw new WireError("invalid HMAC signature");
  const header = parseJson(parts[0], "header");
  if (typeof header?.msg_type !== "string" || typeof header?.msg_id !== "string") {
    throw new WireError("header lacks msg_type or msg_id");
  }
  return {
    identities: frames.slice(0, delim),
    header,
    parent_header: parseJson(parts[1], "parent_header"),
    metadata: parseJson(parts[2], "metadata"),
    content: parseJson(parts[3], "content"),
    buffers: parts.slice(4),
  };
}

export function encode(msg: Message, signer: Signer): Array<Buffer | string> {
  const parts = [JSON.stringify(msg.header), JSON.stringify(msg.parent_header), JSON.stringify(msg.metadata), JSON.stringify(msg.content)];
  return [...msg.identities, DELIMITER, signer.sign(parts), ...parts, ...msg.buffers];
}

/** A new message in reply to (or caused by) `parent`, in the parent's session. */
export function child<C>(
  parent: Message | undefined,
  msgType: string,
  content: C,
  opts: { identities?: Buffer[]; metadata?: Record<string, unknown>; buffers?: Buffer[] } = {},
): Message<C> {
  return {
    identities: opts.identities ?? [],
    header: {
      msg_id: randomUUID(),
      session: KERNEL_SESSION,
      username: parent?.header.username ?? "kernel",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    },
    parent_header: parent?.header ?? {},
    metadata: opts.metadata ?? {},
    content,
    buffers: opts.buffers ?? [],
  };
}
