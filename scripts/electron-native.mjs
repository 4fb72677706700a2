// Builds better-sqlite3 for Electron's ABI into .cache/electron-native/, leaving the
// Node build in node_modules untouched (tests, CLI and web mode keep using it).
// Usage: node scripts/electron-native.mjs <electron binary>
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const outDir = join(root, '.cache', 'electron-native');
const target = join(outDir, 'better_sqlite3.node');
const stampFile = join(outDir, 'stamp.json');

const electronPath = process.argv[2];
const electronVersion = execFileSync(electronPath, ['--version'], { encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } })
  .trim()
  .replace(/^v/, '');
const sqliteVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')).version;
const stamp = JSON.stringify({ electronVersion, sqliteVersion });
if (existsSync(target) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) process.exit(0);

console.log(`[vae-studio] Building better-sqlite3 ${sqliteVersion} for Electron ${electronVersion} (once)…`);
const work = join(outDir, 'work');
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'node_modules'), { recursive: true });
cpSync(join(root, 'node_modules', 'better-sqlite3'), join(work, 'node_modules', 'better-sqlite3'), { recursive: true });
writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'electron-native', version: '1.0.0', dependencies: { 'better-sqlite3': sqliteVersion } }));
const { rebuild } = await import('@electron/rebuild');
await rebuild({ buildPath: work, electronVersion, onlyModules: ['better-sqlite3'], force: true });
cpSync(join(work, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), target);
writeFileSync(stampFile, stamp);
rmSync(work, { recursive: true, force: true });
console.log(`[vae-studio] Electron SQLite module ready: ${target}`);
