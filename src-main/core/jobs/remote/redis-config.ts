import { readFileSync, statSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';
import { ApiError } from '@shared/errors';

/**
 * Where runs go when they train on other machines: a Redis server reached by URL, with
 * its password or ACL user in the URL (`redis://user:pass@host:6379/0`) and TLS by the
 * `rediss://` scheme, optionally checked against a CA file. Both the app (which sends
 * runs) and `vae-studio worker` (which trains them) connect out to it; neither opens a port.
 */
export interface RedisSettings {
  url: string;
  /** PEM file of the CA that signed the server's certificate (rediss:// only). */
  caFile?: string;
}

/** The BullMQ queue runs travel on, and the prefix of every key VAE Studio writes. */
export const RUN_QUEUE = 'vae-studio-runs';
export const KEY_PREFIX = 'vae-studio';

const MAX_CA_BYTES = 1024 * 1024;

/** The URL without its password, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** Scheme, host and port (and a database other than 0): how runs waiting on this Redis name it, never with a user or password. */
export function queueAddress(url: string): string {
  try {
    const parsed = new URL(url);
    const db = parsed.pathname.replace(/^\//, '');
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}${db && db !== '0' ? `/${db}` : ''}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * ioredis options for the settings, or a clear error naming what is wrong. `blocking`:
 * for BullMQ workers and blocking reads, which must wait for Redis rather than fail a
 * command after a few retries.
 */
export function redisOptions(settings: RedisSettings, field = 'redis'): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(settings.url);
  } catch {
    throw new ApiError('invalid_input', `"${redactedUrl(settings.url)}" is not a Redis URL; write it as redis://[user:password@]host[:6379][/db] or rediss://… for TLS`, { field });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ApiError('invalid_input', `The Redis URL must start with redis:// or rediss:// (TLS), not ${parsed.protocol}//`, { field });
  }
  if (!parsed.hostname) throw new ApiError('invalid_input', `The Redis URL ${redactedUrl(settings.url)} names no host`, { field });
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) {
    throw new ApiError('invalid_input', `The Redis URL's database "${dbText}" must be a number from 0 to 15`, { field });
  }
  const tls = parsed.protocol === 'rediss:';
  if (settings.caFile !== undefined && !tls) {
    throw new ApiError('invalid_input', `A CA file (${settings.caFile}) is only used with TLS: write the URL as rediss://…`, { field: 'redisCa' });
  }
  let ca: Buffer | undefined;
  if (settings.caFile !== undefined) {
    try {
      if (statSync(settings.caFile).size > MAX_CA_BYTES) throw new Error(`larger than ${MAX_CA_BYTES / 1024} KiB`);
      ca = readFileSync(settings.caFile);
    } catch (error) {
      throw new ApiError('invalid_input', `Cannot read the Redis CA file ${settings.caFile}: ${(error as Error).message}. Give the PEM file of the CA that signed the server's certificate.`, {
        field: 'redisCa',
      });
    }
  }
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(parsed.username && { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password && { password: decodeURIComponent(parsed.password) }),
    ...(tls && { tls: { servername: parsed.hostname, ...(ca && { ca }) } }),
    // BullMQ's rule for connections it blocks on; commands wait for a reconnect instead of failing.
    maxRetriesPerRequest: null,
    // Reconnect every second at most, forever: a Redis restart or a network blip is waited out.
    retryStrategy: (times: number) => Math.min(times * 200, 1000),
    lazyConnect: false,
  };
}
