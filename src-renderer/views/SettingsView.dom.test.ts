import { describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import type { RemoteSettings } from '@shared/types';
import SettingsView from './SettingsView.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { choose, click, render, waitFor } from '../test/render';

const local: RemoteSettings = { redisUrl: null, redisCaFile: null, source: 'none' };

describe('Settings: where runs train', () => {
  it('saves a Redis URL, shows the core’s refusal beside the field it names, and goes back to training here', async () => {
    fakeBridge.answer('settings.get', local);
    fakeBridge.answer('settings.setRemote', ({ redisUrl, redisCaFile }) => {
      if (redisUrl?.startsWith('http')) throw new ApiError('invalid_input', 'The Redis URL must start with redis:// or rediss:// (TLS), not http://', { field: 'redisUrl' });
      return { redisUrl, redisCaFile, source: redisUrl === null ? 'none' : 'saved' };
    });
    const view = render(SettingsView, {});
    await waitFor(() => expect(fakeBridge.calls.some((c) => c.name === 'settings.get')).toBe(true));

    choose(view.get('settings-redis-url'), 'http://queue:6379');
    click(view.get('settings-save'));
    await waitFor(() => expect(view.get('error-redisUrl').textContent).toMatch(/must start with redis:\/\//));
    expect(view.query('settings-saved')).toBeNull();

    choose(view.get('settings-redis-url'), 'redis://user:pw@queue:6379');
    click(view.get('settings-save'));
    await waitFor(() => expect(view.get('settings-saved').textContent).toMatch(/queue on this Redis/));
    expect(fakeBridge.calls.filter((c) => c.name === 'settings.setRemote').at(-1)!.input).toEqual({ redisUrl: 'redis://user:pw@queue:6379', redisCaFile: null });
    expect(view.query('error-redisUrl')).toBeNull();

    click(view.get('settings-local'));
    await waitFor(() => expect(view.get('settings-saved').textContent).toMatch(/train on this machine/));
    expect((view.get('settings-redis-url') as HTMLInputElement).value).toBe('');
  });
});
