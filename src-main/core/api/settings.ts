import type { RemoteSettings } from '@shared/types';
import { ApiError } from '@shared/errors';
import { PASSWORD_MASK, probeRedis, redactedUrl } from '../jobs/remote/redis-config';
import { getRemoteSetting, setRemoteSetting } from '../store/settings';
import type { Context, HandlerMap } from './context';

/**
 * A URL sent back with the masked password means "the saved password": the Settings page
 * never has it, so saving other changes (the CA file) must not lose it. Only for the same
 * scheme, user, host and port; anything else has to say its password again.
 */
function withSavedPassword(url: string, saved: string | null): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // refused by redisOptions, naming the field
  }
  if (parsed.password !== PASSWORD_MASK) return url;
  const before = saved === null ? null : new URL(saved);
  const same = before !== null && before.password !== '' && ['protocol', 'username', 'hostname', 'port'].every((key) => before[key as 'port'] === parsed[key as 'port']);
  if (!same) {
    throw new ApiError('invalid_input', `Type the password into the URL ${redactedUrl(url)}: "${PASSWORD_MASK}" stands for a saved one only for the same user, host and port.`, { field: 'redisUrl' });
  }
  parsed.password = before.password;
  return parsed.toString();
}

/**
 * Where runs train: the saved Redis URL (Settings page), unless the command line's --redis
 * overrides it. The password is never answered (it reads `***`), so it never reaches the
 * renderer, a log or a screenshot.
 */
export function settingsHandlers(ctx: Context): HandlerMap<'settings.get' | 'settings.setRemote'> {
  const current = (): RemoteSettings => {
    if (ctx.remote.flag) return { redisUrl: redactedUrl(ctx.remote.flag.url), redisCaFile: ctx.remote.flag.caFile ?? null, source: 'flag' };
    const saved = savedRemote();
    return saved ? { redisUrl: redactedUrl(saved.redisUrl), redisCaFile: saved.redisCaFile, source: 'saved' } : { redisUrl: null, redisCaFile: null, source: 'none' };
  };
  // A workspace opened read-only may predate the settings table: nothing saved, then.
  const savedRemote = (): ReturnType<typeof getRemoteSetting> => (ctx.workspace.readOnly ? null : getRemoteSetting(ctx.workspace.db));
  return {
    'settings.get': async () => current(),
    'settings.setRemote': async ({ redisUrl: typed, redisCaFile }) => {
      if (typed === null && redisCaFile !== null) throw new ApiError('invalid_input', 'A CA file needs a rediss:// URL beside it', { field: 'redisCaFile' });
      const redisUrl = typed === null ? null : withSavedPassword(typed, savedRemote()?.redisUrl ?? null);
      const settings = redisUrl === null ? null : { url: redisUrl, ...(redisCaFile !== null && { caFile: redisCaFile }) };
      // A wrong URL, unreadable CA file, refused password or untrusted certificate is refused
      // here, naming the field, and nothing is saved. A Redis that is down is saved (runs wait for it).
      const probe = settings ? await probeRedis(settings, 'redisUrl', 'redisCa') : { reachable: true };
      setRemoteSetting(ctx.workspace.db, redisUrl === null ? null : { redisUrl, redisCaFile });
      if (!ctx.remote.flag) ctx.remote.switch.use(settings);
      return { ...current(), ...(probe.message !== undefined && { notice: probe.message }) };
    },
  };
}
