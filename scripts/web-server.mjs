// Web mode for the scripts that drive it (bench-ui, bench-history, screens-run): starts
// `vae-studio serve` on a free loopback port over `home` and resolves once it says where it
// listens; `env` adds to the child's environment.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

export function startServer(home, env = {}) {
  const child = spawn(process.execPath, [join(root, 'bin', 'vae-studio.mjs'), 'serve', '--home', home, '--port', '0', '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, VAE_STUDIO_HOME: home, ...env },
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const message = JSON.parse(line);
          if (message.type === 'listening') resolve({ child, url: message.url });
        } catch {
          // a partial line; the rest comes with the next chunk
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`serve exited (code ${code}) before listening`)));
  });
}
