import { homedir, platform } from 'node:os';
import { join } from 'node:path';

/** `$VAE_STUDIO_HOME`, else the OS's per-user application-data folder. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VAE_STUDIO_HOME) return env.VAE_STUDIO_HOME;
  switch (platform()) {
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'VAE Studio');
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'VAE Studio');
    default:
      return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'vae-studio');
  }
}
