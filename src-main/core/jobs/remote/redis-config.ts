import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
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

/** What stands for a saved password: in messages, logs and the Settings page (which sends it back to mean "unchanged"). */
export const PASSWORD_MASK = '***';

/** The URL without its password, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = PASSWORD_MASK;
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
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port,
    db,
    ...(parsed.username && { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password && { password: decodeURIComponent(parsed.password) }),
    // SNI names a host, never an address (RFC 6066); the certificate is checked against either.
    ...(tls && { tls: { ...(isIP(host) === 0 && { servername: host }), ...(ca && { ca }) } }),
    // BullMQ's rule for connections it blocks on; commands wait for a reconnect instead of failing.
    maxRetriesPerRequest: null,
    // Reconnect every second at most, forever: a Redis restart or a network blip is waited out.
    retryStrategy: (times: number) => Math.min(times * 200, 1000),
    lazyConnect: false,
  };
}

/** How long checking a Redis (settings, the command line) waits for an answer. */
const PROBE_MS = 5000;

/**
 * Connects once and asks what VAE Studio needs, so that a Redis that will never work is
 * refused at once with why, naming the URL without its password: a wrong user or password,
 * an ACL user missing a command, a certificate the CA does not vouch for (or TLS spoken to
 * a plain port, or the reverse). A Redis that does not answer is not refused (it may be
 * down for a while; runs wait for it): the answer says so instead.
 */
export async function probeRedis(settings: RedisSettings, field = 'redis', caField = 'redisCa'): Promise<{ reachable: boolean; message?: string }> {
  const options = redisOptions(settings, field);
  const where = redactedUrl(settings.url);
  const client = new Redis({ ...options, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: PROBE_MS, enableOfflineQueue: false });
  let lastError: (Error & { code?: string }) | null = null;
  client.on('error', (error: Error) => (lastError = error));
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        // BullMQ reads INFO (the server's version) and runs Lua scripts; the app and workers use streams, sets and hashes.
        await client.info('server');
        await client.ping();
      })(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${PROBE_MS / 1000} s`)), PROBE_MS).unref()),
    ]);
    return { reachable: true };
  } catch (thrown) {
    const error: Error & { code?: string } = lastError ?? (thrown as Error);
    const text = `${error.code ?? ''} ${error.message}`;
    if (/WRONGPASS|NOAUTH|invalid username-password|AUTH.*(without|called)/i.test(text)) {
      throw new ApiError('invalid_input', `Redis at ${where} refused the user and password (${error.message.trim()}). Put the right ones in the URL: redis://user:password@host:port.`, { field });
    }
    if (/NOPERM/.test(text)) {
      throw new ApiError('invalid_input', `Redis at ${where} lets this user in but not run what VAE Studio needs (${error.message.trim()}). Give the ACL user "+@all -@dangerous +info" on the keys "~vae-studio*" and "~bull:*".`, { field });
    }
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|certificate/i.test(text)) {
      throw new ApiError('invalid_input', `The TLS certificate of Redis at ${where} is not trusted (${error.code ?? error.message}). Give the PEM file of the CA that signed it${settings.caFile ? ` (not ${settings.caFile})` : ''}.`, { field: caField });
    }
    if (/EPROTO|wrong version number|packet length too long/i.test(text)) {
      throw new ApiError('invalid_input', `Redis at ${where} does not speak ${settings.url.startsWith('rediss:') ? 'TLS on that port: use redis://' : 'plain Redis on that port: use rediss:// for TLS'} (${error.message.trim()}).`, { field });
    }
    if (error.code === 'ECONNRESET' && settings.url.startsWith('redis:')) {
      // A TLS port hangs up on a plain client before any answer.
      throw new ApiError('invalid_input', `Redis at ${where} hung up at once (${error.message.trim()}): if it takes TLS on that port, write the URL as rediss://…`, { field });
    }
    return { reachable: false, message: `Redis at ${where} does not answer (${error.message.trim()}); runs wait for it.` };
  } finally {
    client.disconnect();
  }
}
