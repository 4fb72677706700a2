import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '@shared/errors';

interface LockInfo {
  pid: number;
  mode: string;
  since: string;
  /** Random, per acquisition: tells this holding apart from a later one by the same pid. */
  token?: string;
}

/** A held workspace lock: its file and token (for child processes to check) and how to let go. */
export interface WorkspaceLock {
  path: string;
  token: string;
  release(): void;
}

/**
 * Whether the lock at `path` is still the holding `token` names. A child process asks
 * this before it writes into the workspace: once its parent died, a new instance may
 * have taken the workspace over and swept its temp folder.
 */
export function holdsWorkspaceLock(path: string, token: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as LockInfo).token === token;
  } catch {
    return false; // gone, or half-written by a new holder
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

/**
 * One writer per workspace: a second app, server or training CLI on the same folder
 * would mark the first one's running jobs as interrupted. A lock left by a process that
 * died (kill -9, power cut) is taken over.
 */
export function acquireWorkspaceLock(home: string, mode: string): WorkspaceLock {
  const path = join(home, 'studio.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      const token = randomBytes(16).toString('hex');
      const info: LockInfo = { pid: process.pid, mode, since: new Date().toISOString(), token };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      const release = (): void => {
        try {
          const current = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
          if (current.pid === process.pid) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      };
      return { path, token, release };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      let holder: LockInfo | null;
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
      } catch {
        holder = null; // half-written by a process that died while writing it
      }
      if (holder && alive(holder.pid)) {
        throw new ApiError(
          'conflict',
          `The workspace ${home} is in use by another VAE Studio (${holder.mode}, pid ${holder.pid}, since ${holder.since}). ` +
            'Close it first, or choose another workspace with --home / VAE_STUDIO_HOME.',
          { field: 'home', pid: holder.pid },
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new ApiError('conflict', `Could not lock the workspace ${home}`, { field: 'home' });
}
