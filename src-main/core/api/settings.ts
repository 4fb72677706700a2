import type { RemoteSettings } from '@shared/types';
import { ApiError } from '@shared/errors';
import { redisOptions } from '../jobs/remote/redis-config';
import { getRemoteSetting, setRemoteSetting } from '../store/settings';
import type { Context, HandlerMap } from './context';

/** Where runs train: the saved Redis URL (Settings page), unless the command line's --redis overrides it. */
export function settingsHandlers(ctx: Context): HandlerMap<'settings.get' | 'settings.setRemote'> {
  const current = (): RemoteSettings => {
    if (ctx.remote.flag) return { redisUrl: ctx.remote.flag.url, redisCaFile: ctx.remote.flag.caFile ?? null, source: 'flag' };
    // A workspace opened read-only may predate the settings table: nothing saved, then.
    const saved = ctx.workspace.readOnly ? null : getRemoteSetting(ctx.workspace.db);
    return saved ? { ...saved, source: 'saved' } : { redisUrl: null, redisCaFile: null, source: 'none' };
  };
  return {
    'settings.get': async () => current(),
    'settings.setRemote': async ({ redisUrl, redisCaFile }) => {
      if (redisUrl === null && redisCaFile !== null) throw new ApiError('invalid_input', 'A CA file needs a rediss:// URL beside it', { field: 'redisCaFile' });
      const settings = redisUrl === null ? null : { url: redisUrl, ...(redisCaFile !== null && { caFile: redisCaFile }) };
      // A wrong URL or unreadable CA file is refused here, naming the field, and nothing is saved.
      if (settings) redisOptions(settings, 'redisUrl');
      setRemoteSetting(ctx.workspace.db, redisUrl === null ? null : { redisUrl, redisCaFile });
      if (!ctx.remote.flag) ctx.remote.switch.use(settings);
      return current();
    },
  };
}
