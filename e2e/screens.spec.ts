import type { Page, TestInfo } from '@playwright/test';
import { captureFullPage, expect, openStudio, tempFolder, test, writeShapesFolder } from './fixtures';
import { createFirstProject, importFolder, trainTinyRun } from './steps';

/**
 * Every main view at 1280×800 and 1920×1080, light and dark, saved under this test's
 * output folder (test-results/artifacts/…/screens) for a person to look at; and at
 * 1280 px no view may overflow sideways — the page must not scroll horizontally and no
 * box may cut its content off or hide it behind an unmarked sideways scroll (text that
 * ends in an ellipsis is fine; a scroller with a visible cue carries data-scroll-x).
 */

const SIZES = [
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
] as const;

/** What overflows sideways on this page: one line per offender, empty when none. */
export function horizontalOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const name = (el: Element): string => {
      const testid = el.closest('[data-testid]')?.getAttribute('data-testid');
      const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      return `${el.tagName.toLowerCase()}${cls}${testid ? ` (in [data-testid="${testid}"])` : ''}`;
    };
    const width = document.documentElement.clientWidth;
    const page = document.scrollingElement ?? document.documentElement;
    if (page.scrollWidth > width + 1) problems.push(`the page scrolls sideways: ${page.scrollWidth} px of content in a ${width} px window`);
    const scrolls = (style: CSSStyleDeclaration): boolean => style.overflowX === 'auto' || style.overflowX === 'scroll';
    for (const el of document.querySelectorAll<HTMLElement>('body *')) {
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden' || el.clientWidth <= 2) continue;
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      // A box that cuts off what it holds: hidden, or scrolled out of sight — scrollbars
      // are not always drawn (overlay scrollbars, Playwright's Chromium), so a cut-off
      // column reads as missing. A scroller that shows it scrolls (a fade, arrows, a
      // "scroll for more" cue) says so with data-scroll-x; "…" at the end of a text is fine.
      const cuts = style.overflowX === 'hidden' || style.overflowX === 'clip' || (scrolls(style) && !el.hasAttribute('data-scroll-x'));
      if (cuts && el.scrollWidth > el.clientWidth + 1 && style.textOverflow !== 'ellipsis') {
        problems.push(`${name(el)} ${scrolls(style) ? 'hides' : 'cuts off'} ${el.scrollWidth - el.clientWidth} px of its content${scrolls(style) ? ' behind a sideways scroll' : ''}`);
        continue;
      }
      // Something that reaches past the window's right edge without a scrolling box around it.
      if (rect.right > width + 1 && style.position !== 'fixed') {
        let parent = el.parentElement;
        let inScroller = false;
        while (parent && parent !== document.body) {
          if (scrolls(getComputedStyle(parent))) {
            inScroller = true;
            break;
          }
          parent = parent.parentElement;
        }
        if (!inScroller) problems.push(`${name(el)} reaches ${Math.round(rect.right - width)} px past the window's right edge`);
      }
    }
    return [...new Set(problems)].slice(0, 20);
  });
}

async function settle(page: Page): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(300);
}

async function shootAll(page: Page, testInfo: TestInfo, view: string, overflow: Record<string, string[]>): Promise<void> {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await settle(page);
      await page.evaluate(() => window.scrollTo(0, 0));
      const file = testInfo.outputPath('screens', `${view}-${size.width}x${size.height}-${scheme}.png`);
      await captureFullPage(page, file, `${view} at ${size.width}×${size.height}, ${scheme}`);
      if (size.width === 1280 && scheme === 'light') {
        const found = await horizontalOverflow(page);
        if (found.length > 0) overflow[view] = found;
      }
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(SIZES[0]);
}

test('every main view, at 1280×800 and 1920×1080, light and dark, fits the width at 1280 px', async ({ page, studio }, testInfo) => {
  test.setTimeout(420_000);
  const data = await tempFolder();
  try {
    const { folder } = await writeShapesFolder(data.path, 12);
    await page.setViewportSize(SIZES[0]);
    await openStudio(page, studio);
    await createFirstProject(page);
    await importFolder(page, folder, 'shapes with a long name, as imported models have', 16);
    const datasetUrl = page.url();
    const a = await trainTinyRun(page, { name: 'screens-a', latent: 2, hidden: 32, epochs: 2 });
    const b = await trainTinyRun(page, { name: 'screens-b with a longer name than most', latent: 4, hidden: 32, epochs: 1, beta: 2 });
    const base = studio.url.split('#')[0];
    const views: { view: string; hash: string; ready: string }[] = [
      { view: 'projects', hash: '#/projects', ready: 'projects-list' },
      { view: 'datasets-import', hash: '#/datasets', ready: 'import-form' },
      { view: 'dataset', hash: new URL(datasetUrl).hash, ready: 'dataset-detail' },
      { view: 'train', hash: `#/train/${b}`, ready: 'run-panel' },
      { view: 'runs', hash: '#/runs', ready: 'run-row' },
      { view: 'run', hash: `#/runs/${a}`, ready: 'run-panel' },
      { view: 'compare', hash: `#/compare/${a},${b}`, ready: 'compare' },
      { view: 'explore-traverse', hash: `#/runs/${a}/explore`, ready: 'traverse-row' },
      { view: 'explore-map', hash: `#/runs/${a}/explore/map`, ready: 'explore-map' },
      { view: 'explore-interpolate', hash: `#/runs/${a}/explore/interpolate`, ready: 'explore-info' },
      { view: 'explore-samples', hash: `#/runs/${a}/explore/samples`, ready: 'samples-grid' },
      { view: 'inpaint', hash: `#/runs/${a}/inpaint`, ready: 'inpaint-canvas' },
    ];
    const overflow: Record<string, string[]> = {};
    for (const { view, hash, ready } of views) {
      await page.goto(`${base}${hash}`);
      await expect(page.getByTestId('app')).toHaveAttribute('data-phase', 'ready');
      await expect(page.getByTestId(ready).first()).toBeVisible({ timeout: 60_000 });
      await shootAll(page, testInfo, view, overflow);
    }
    // After every screenshot is saved: one failure naming each view and what overflows.
    expect(overflow, 'views that overflow sideways at 1280 px').toEqual({});
  } finally {
    await data.remove();
  }
});
