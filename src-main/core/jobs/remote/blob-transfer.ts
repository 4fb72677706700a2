import { createHash } from 'node:crypto';
import { createReadStream, closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { ApiError } from '@shared/errors';
import { KEY_PREFIX } from './redis-config';

/**
 * Files travel through the same Redis the queue uses, named by their SHA-256, in chunks
 * of CHUNK_BYTES: no second server, port or credential to configure, the same TLS and
 * ACL as the queue, and a worker behind NAT needs nothing but its outgoing connection.
 * Chunks are written first and the header (size, chunk count) last, so a header means a
 * whole file; everything expires after BLOB_TTL_MS unless sent again.
 *
 * A reader trusts nothing it fetched: the size must be the one the job declared and within
 * the limit for its kind, every chunk's length is asked (STRLEN) before it is read, so at
 * most one chunk is ever held, and the file is kept only if its hash is the name it was
 * fetched by. A copy found damaged is removed from Redis, so sending the run again uploads
 * it afresh.
 */
export const CHUNK_BYTES = 4 * 1024 * 1024;
export const BLOB_TTL_MS = 7 * 24 * 3600 * 1000;
/** Largest packed dataset a worker fetches (the size the run's dataset row declares). */
export const MAX_DATASET_BYTES = 4 * 1024 ** 3;
/** Largest checkpoint either side fetches. */
export const MAX_CHECKPOINT_BYTES = 2 * 1024 ** 3;

/** What a job says about a file it refers to. */
export interface BlobRef {
  sha256: string;
  bytes: number;
}

const headerKey = (sha256: string): string => `${KEY_PREFIX}:blob:${sha256}`;
const chunkKey = (sha256: string, index: number): string => `${KEY_PREFIX}:blob:${sha256}:${index}`;
const chunkCount = (bytes: number): number => Math.max(1, Math.ceil(bytes / CHUNK_BYTES));

function checkHash(sha256: string, what: string): void {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ApiError('invalid_input', `${what}: "${sha256.slice(0, 80)}" is not a SHA-256 hash`, { field: 'sha256' });
}

/** Sends a local file (already named by its hash) unless Redis holds it whole; refreshes its expiry either way. */
export async function putBlobFile(redis: Redis, path: string, ref: BlobRef): Promise<void> {
  checkHash(ref.sha256, path);
  const size = statSync(path).size;
  if (size !== ref.bytes) throw new ApiError('io_error', `${path} is ${size} bytes, not the ${ref.bytes} its record says; it changed on disk`);
  const chunks = chunkCount(ref.bytes);
  const held = await redis.hget(headerKey(ref.sha256), 'bytes');
  if (held === String(ref.bytes)) {
    const refresh = redis.multi().pexpire(headerKey(ref.sha256), BLOB_TTL_MS);
    for (let i = 0; i < chunks; i++) refresh.pexpire(chunkKey(ref.sha256, i), BLOB_TTL_MS);
    await refresh.exec();
    return;
  }
  let index = 0;
  if (ref.bytes === 0) await redis.set(chunkKey(ref.sha256, 0), Buffer.alloc(0), 'PX', BLOB_TTL_MS);
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) {
    await redis.set(chunkKey(ref.sha256, index++), chunk as Buffer, 'PX', BLOB_TTL_MS);
  }
  await redis.multi().hset(headerKey(ref.sha256), 'bytes', String(ref.bytes), 'chunks', String(chunks)).pexpire(headerKey(ref.sha256), BLOB_TTL_MS).exec();
}

/** Removes a file from Redis (a checkpoint superseded and kept elsewhere). */
export async function removeBlob(redis: Redis, ref: BlobRef): Promise<void> {
  const keys = [headerKey(ref.sha256)];
  for (let i = 0; i < chunkCount(ref.bytes); i++) keys.push(chunkKey(ref.sha256, i));
  await redis.del(...keys);
}

/**
 * Fetches `ref` into `dest` (atomically: a temp file beside it, fsynced, renamed), or
 * throws an ApiError naming the file (`what`) and what to do. `limit`: the most bytes a
 * file of this kind may have.
 */
export async function fetchBlob(redis: Redis, ref: BlobRef, dest: string, what: string, limit: number): Promise<void> {
  checkHash(ref.sha256, what);
  const resend = 'Send the run again from VAE Studio (it uploads its files again).';
  if (!Number.isSafeInteger(ref.bytes) || ref.bytes < 0 || ref.bytes > limit) {
    throw new ApiError('invalid_input', `${what} declares ${ref.bytes} bytes, more than the ${limit} a worker accepts; it was not fetched.`, { field: 'bytes', sha256: ref.sha256 });
  }
  const header = await redis.hgetall(headerKey(ref.sha256));
  if (header.bytes === undefined) {
    throw new ApiError('not_found', `${what} (${ref.sha256.slice(0, 12)}…) is not in Redis: it expired or was removed. ${resend}`, { field: 'sha256', sha256: ref.sha256 });
  }
  const chunks = chunkCount(ref.bytes);
  if (header.bytes !== String(ref.bytes) || header.chunks !== String(chunks)) {
    await removeBlob(redis, ref);
    throw new ApiError('invalid_input', `${what} in Redis is ${header.bytes} bytes in ${header.chunks} chunks, not the ${ref.bytes} its job declares; it was not fetched. ${resend}`, {
      field: 'bytes',
      sha256: ref.sha256,
    });
  }
  const tmp = `${dest}.${process.pid}.part`;
  const fd = openSync(tmp, 'w');
  const hash = createHash('sha256');
  let total = 0;
  try {
    for (let i = 0; i < chunks; i++) {
      const key = chunkKey(ref.sha256, i);
      const length = await redis.strlen(key);
      const expected = Math.min(CHUNK_BYTES, ref.bytes - total);
      if (length !== expected) {
        await removeBlob(redis, ref);
        throw new ApiError('invalid_input', `${what}: chunk ${i} in Redis is ${length} bytes where ${expected} were declared (missing, oversized or truncated); it was not fetched. ${resend}`, {
          field: 'bytes',
          sha256: ref.sha256,
        });
      }
      const chunk = await redis.getBuffer(key);
      if (chunk === null || chunk.length !== expected) throw new ApiError('invalid_input', `${what}: chunk ${i} changed while it was read. ${resend}`, { sha256: ref.sha256 });
      hash.update(chunk);
      writeSync(fd, chunk);
      total += chunk.length;
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  const digest = hash.digest('hex');
  if (digest !== ref.sha256) {
    rmSync(tmp, { force: true });
    await removeBlob(redis, ref);
    throw new ApiError('invalid_input', `${what} fetched from Redis has SHA-256 ${digest.slice(0, 12)}…, not ${ref.sha256.slice(0, 12)}… as named: the copy in Redis is damaged or was replaced, so it was not used. ${resend}`, {
      field: 'sha256',
      sha256: ref.sha256,
    });
  }
  renameSync(tmp, dest);
}
