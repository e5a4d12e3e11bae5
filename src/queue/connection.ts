import type { ConnectionOptions } from 'bullmq';
import { ConfigError } from '../errors';
import type { ParallelJob } from '../parallel/jobs';

/** One BullMQ queue per job kind; the kind is the queue's name. */
export const QUEUE_KINDS: readonly ParallelJob['kind'][] = ['pretune-lora', 'invert-lora', 'evaluate-episodes', 'evaluate-method'];

/** Key prefix of every queue (BullMQ's default is "bull"): the project's keys stay apart from others'. */
export const QUEUE_PREFIX = 'lora-recycle';

/** Pub/sub channel on which a stopped run asks the workers to cancel its running jobs (message: job id). */
export const CANCEL_CHANNEL = `${QUEUE_PREFIX}:cancel`;

/**
 * ioredis options for a `redis://[user:password@]host[:port][/db]` (or `rediss://`, TLS) URL.
 * maxRetriesPerRequest null: commands wait through a Redis restart instead of failing (BullMQ's
 * workers require it); reconnection is ioredis' default, retried forever.
 */
export function redisConnection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`--redis expects a URL such as redis://127.0.0.1:6379, found "${url}"`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(`--redis expects a redis:// or rediss:// URL, found protocol "${parsed.protocol}" in "${url}"`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new ConfigError(`--redis: the path of the URL must be a database number, found "${db}" in "${url}"`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: db === '' ? 0 : Number(db),
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}
