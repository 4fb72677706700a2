import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { fsyncFolder, writeFileDurably } from './durable';

export { fsyncFolder, writeFileDurably };

/**
 * Files the app writes outside the workspace — exports, in a folder the user chose — go
 * to a hidden name beside their target (`.NAME.tmp-XXXXXXXX`) and are renamed into
 * place. A crash or a power loss in between would leave that file in the user's folder
 * for ever. So each one is recorded in the workspace (`pending/<id>.json`: its path and
 * the writing process) and fsynced before it is created, and the record is dropped once
 * it is renamed or removed. At start, the files of records whose process is gone are
 * deleted; a previous export moved aside to be replaced (`.NAME.old-XXXXXXXX`) is put
 * back when the replacement never arrived.
 */
export interface PendingRecord {
  /** The hidden file or folder beside the target. */
  path: string;
  /** `temp`: a new file being written; `previous`: the old target, moved aside until the new one is in place. */
  kind: 'temp' | 'previous';
  target: string;
  pid: number;
  /** When the writing process started (ms), so a reused pid is not taken for it. */
  started: number;
}

/** The only names a record may make the sweep delete: hidden siblings the app itself names. */
const OURS = /^\..+\.(tmp|old)-[0-9a-f]{8}$/;

/** A fresh hidden name beside `target` for a file or folder on its way there (`tmp`), or the old target moved aside (`old`). */
export const siblingName = (target: string, kind: 'tmp' | 'old'): string => join(dirname(target), `.${basename(target)}.${kind}-${randomBytes(4).toString('hex')}`);

const processStarted = Math.round(Date.now() - process.uptime() * 1000);


function alive(record: PendingRecord): boolean {
  if (record.pid === process.pid) return Math.abs(record.started - processStarted) < 2000;
  try {
    process.kill(record.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class PendingFiles {
  constructor(readonly dir: string) {}

  /** Records `path` (not created yet) durably; returns what drops the record. */
  record(path: string, kind: PendingRecord['kind'], target: string): () => void {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `${Date.now()}-${randomBytes(6).toString('hex')}.json`);
    const record: PendingRecord = { path, kind, target, pid: process.pid, started: processStarted };
    writeFileDurably(file, new TextEncoder().encode(JSON.stringify(record)));
    fsyncFolder(this.dir);
    return () => rmSync(file, { force: true });
  }

  /**
   * Clears what dead writers left: their temp files are deleted, a previous target moved
   * aside goes back where it was if nothing replaced it (else it is deleted). Records of
   * live processes are kept. Returns what was removed or restored, for the log.
   */
  sweep(): string[] {
    if (!existsSync(this.dir)) return [];
    const done: string[] = [];
    for (const name of readdirSync(this.dir)) {
      const file = join(this.dir, name);
      let record: PendingRecord;
      try {
        record = JSON.parse(readFileSync(file, 'utf8')) as PendingRecord;
      } catch {
        // A record torn by the same crash: its file, if any, was never created.
        rmSync(file, { force: true });
        continue;
      }
      if (typeof record.pid === 'number' && alive(record)) continue;
      const { path, target } = record;
      if (typeof path === 'string' && isAbsolute(path) && OURS.test(basename(path)) && existsSync(path)) {
        try {
          if (record.kind === 'previous' && typeof target === 'string' && dirname(target) === dirname(path) && !existsSync(target)) {
            renameSync(path, target);
            done.push(target);
          } else {
            rmSync(path, { recursive: true, force: true });
            done.push(path);
          }
        } catch {
          // The folder may be gone or unwritable now: keep the record for the next start.
          continue;
        }
      }
      rmSync(file, { force: true });
    }
    return done;
  }
}
