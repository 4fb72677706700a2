// `npm start`: build if needed, open the Electron app, and where Electron cannot start
// here, say exactly why and serve the same app in web mode on 127.0.0.1 instead.
// VAE_STUDIO_START=web skips Electron; ELECTRON_EXEC_PATH points at an Electron binary.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const say = (line) => process.stdout.write(`[vae-studio] ${line}\n`);

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function ensureBuilt() {
  const stamp = join(root, 'out', 'main', 'cli.js');
  const sources = ['src-main', 'src-shared', 'src-worker', 'src-renderer'].map((d) => newestMtime(join(root, d)));
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= Math.max(...sources)) return;
  say('Building the app (electron-vite build)…');
  const result = spawnSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    say('The build failed; see the messages above.');
    process.exit(result.status ?? 1);
  }
}

/** Path of a runnable Electron binary, or the reason there is none. */
function findElectron() {
  if (process.env.ELECTRON_EXEC_PATH) {
    return existsSync(process.env.ELECTRON_EXEC_PATH)
      ? { path: process.env.ELECTRON_EXEC_PATH }
      : { why: `ELECTRON_EXEC_PATH points at ${process.env.ELECTRON_EXEC_PATH}, which does not exist` };
  }
  say('Looking for the Electron binary (the first start downloads it once)…');
  const probe = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], {
    cwd: root,
    encoding: 'utf8',
    timeout: 10 * 60 * 1000,
  });
  const path = probe.stdout?.trim();
  if (probe.status === 0 && path && existsSync(path)) return { path };
  const detail = (probe.stderr ?? '').split('\n').find((l) => /Error|ENOTFOUND|ECONN|403|404|failed/i.test(l)) ?? 'no details';
  return { why: `the Electron binary is not installed and could not be downloaded (${detail.trim()})` };
}

function ensureElectronNative(electronPath) {
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'electron-native.mjs'), electronPath], { cwd: root, stdio: 'inherit' });
  return result.status === 0;
}

function serveWeb() {
  say('Starting VAE Studio in web mode (same app, served on 127.0.0.1 only)…');
  const child = spawn(process.execPath, [join(root, 'bin', 'vae-studio.mjs'), 'serve'], { cwd: root, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 0));
}

ensureBuilt();
if (process.env.VAE_STUDIO_START === 'web') {
  say('VAE_STUDIO_START=web: skipping Electron.');
  serveWeb();
} else {
  const electron = findElectron();
  if (!electron.path) {
    say(`Electron cannot start here: ${electron.why}.`);
    say('Set ELECTRON_EXEC_PATH (or ELECTRON_OVERRIDE_DIST_PATH) to a local Electron build to use the desktop window.');
    serveWeb();
  } else if (!ensureElectronNative(electron.path)) {
    say('Could not build the SQLite module for Electron (see above); falling back to web mode.');
    serveWeb();
  } else {
    say(`Opening the desktop app (${electron.path}).`);
    const started = Date.now();
    const child = spawn(electron.path, [root], { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => {
      // A window that dies at once (no display, missing system libraries) is a failed start.
      if (code !== 0 && Date.now() - started < 15_000) {
        const line = stderr.split('\n').find((l) => l.trim()) ?? `exit code ${code ?? signal}`;
        say(`Electron exited right away: ${line.trim()}`);
        serveWeb();
      } else {
        process.exit(code ?? 0);
      }
    });
  }
}
