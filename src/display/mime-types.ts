/**
 * The vendor MIME types of LoRA Recycle's display payloads. The library emits them, the JupyterLab
 * extension renders them; both import this file, so the names exist once.
 */
export const MIME = {
  gallery: 'application/vnd.lora-recycle.gallery+json',
  pruning: 'application/vnd.lora-recycle.pruning+json',
  curves: 'application/vnd.lora-recycle.curves+json',
  episode: 'application/vnd.lora-recycle.episode+json',
  zoo: 'application/vnd.lora-recycle.zoo+json',
} as const;

export type PayloadKind = keyof typeof MIME;
export type LoraRecycleMime = (typeof MIME)[PayloadKind];

export const PAYLOAD_KINDS = Object.keys(MIME) as PayloadKind[];

/** The schema version every payload carries; a renderer refuses versions it does not know. */
export const PAYLOAD_VERSION = 1;
