import type { Db } from './db';

/** The Redis queue runs are sent to (Settings page); absent: runs train here. */
export interface StoredRemote {
  redisUrl: string;
  redisCaFile: string | null;
}

const REMOTE = 'remote';

export function getRemoteSetting(db: Db): StoredRemote | null {
  const row = db.prepare('SELECT value_json FROM settings WHERE key = ?').get(REMOTE) as { value_json: string } | undefined;
  if (!row) return null;
  try {
    const value = JSON.parse(row.value_json) as Partial<StoredRemote>;
    return typeof value.redisUrl === 'string' ? { redisUrl: value.redisUrl, redisCaFile: typeof value.redisCaFile === 'string' ? value.redisCaFile : null } : null;
  } catch {
    return null;
  }
}

export function setRemoteSetting(db: Db, value: StoredRemote | null): void {
  if (value === null) db.prepare('DELETE FROM settings WHERE key = ?').run(REMOTE);
  else db.prepare('INSERT INTO settings (key, value_json) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json').run(REMOTE, JSON.stringify(value));
}
