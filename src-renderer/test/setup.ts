/**
 * Set-up of the renderer-dom project (vitest.config.ts), run before each *.dom.test.ts:
 * the fake bridge goes in as `window.vaeStudio` before anything loads lib/bridge.ts
 * (which picks its transport once, when it loads), happy-dom gets what it lacks (dom-shims.ts), and
 * after each test every mounted component is unmounted and the fake and the app state
 * are emptied.
 */
import { afterEach } from 'vitest';
import { installDomShims } from './dom-shims';
import { fakeBridge } from './fake-bridge';
import { cleanup } from './render';

window.vaeStudio = fakeBridge;
installDomShims();

// Loaded only now, so that it (and lib/bridge.ts under it) sees the fake.
const { studio } = await import('../lib/studio.svelte');

afterEach(() => {
  cleanup();
  fakeBridge.reset();
  studio.projectId = null;
  studio.projects = [];
  studio.datasets = [];
  studio.runs = [];
  studio.runsFilter = null;
  studio.removed = new Set();
  studio.clonedFrom = null;
  location.hash = '';
});
