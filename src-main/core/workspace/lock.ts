import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '@shared/errors';

interface LockInfo {
  pid: number;
  mode: string;
  since: string;
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
export function acquireWorkspaceLock(home: string, mode: string): () => void {
  const path = join(home, 'studio.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      const info: LockInfo = { pid: process.pid, mode, since: new Date().toISOString() };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      return () => {
        try {
          const current = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
          if (current.pid === process.pid) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      };
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
