// The new-run form's encoder input and its note on a 64 px RGB dataset with the conv model, 1280×800, light and dark.
// Usage: node scripts/screens-encoder-input.mjs <home> <outDir> [conv|mlp] [name=centre27-form-encoder-input]
// (a workspace with a 64×64×3 dataset; needs a build and /usr/bin/chromium).
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { startServer } from './web-server.mjs';

const [home, outDir, model = 'conv', name = 'centre27-form-encoder-input'] = process.argv.slice(2);
const { child, url } = await startServer(home);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
try {
  for (const scheme of ['light', 'dark']) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
    await page.goto(url);
    await page.getByTestId('app').and(page.locator('[data-phase="ready"]')).waitFor({ timeout: 60_000 });
    await page.goto(`${new URL(url).origin}/#/train`);
    await page.getByTestId('run-form').waitFor({ timeout: 60_000 });
    await page.getByTestId(`run-model-${model}`).click();
    await page.getByTestId('run-encoder-input-note').waitFor();
    const note = await page.getByTestId('run-encoder-input-note').textContent();
    const value = await page.locator('form [name="encoderInput"]').inputValue();
    console.log(scheme, value, note);
    // The Model section from the preset chooser down to the encoder input and its note.
    await page.getByTestId('run-encoder-input-note').evaluate((el) => el.scrollIntoView({ block: 'center' }));
    await page.waitForTimeout(800);
    await page.screenshot({ path: join(outDir, `${name}-${scheme}.png`) });
    await page.close();
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
