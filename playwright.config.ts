import { defineConfig } from '@playwright/test';
import { electronBinary } from './e2e/electron-binary';

/** The Electron test needs a real Electron binary; none can be downloaded on every machine. */
const electron = electronBinary();
if (!electron && !process.env.TEST_WORKER_INDEX) {
  console.log('e2e/electron.spec.ts skipped: no Electron binary (set ELECTRON_EXEC_PATH or install the electron package).');
}

/**
 * End-to-end tests drive the real UI served by `vae-studio serve` (web mode: no Electron
 * binary can be downloaded here) in the system Chromium. Training runs on the CPU of
 * small machines, so timeouts are generous and tests run one at a time.
 * Build first (`npm run build`): the server serves out/renderer and runs out/main.
 */
export default defineConfig({
  testDir: 'e2e',
  testIgnore: electron ? [] : ['electron.spec.ts'],
  outputDir: 'test-results/artifacts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    viewport: { width: 1440, height: 900 },
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
