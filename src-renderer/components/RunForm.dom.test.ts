// The new-run form shows, and sends, exactly the settings the chosen family and options
// read (src-shared/families): switching family hides what it ignores and brings in its own.
import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultRunConfig, importSettingsSchema, modelFamilies, type RunConfig } from '@shared/config';
import { FAMILIES, settingApplies, type RunSetting } from '@shared/families';
import { settingLabel } from '@shared/setting-labels';
import type { Dataset } from '@shared/types';
import { configDiff } from '../lib/config-diff';

const calls: { name: string; input: { config: RunConfig } }[] = [];
vi.mock('../lib/api', () => ({
  call: vi.fn(async (name: string, input: { config: RunConfig }) => {
    calls.push({ name, input });
    return { id: calls.length, projectId: 1, name: 'r', createdAt: '2025-01-01T00:00:00Z', status: 'queued', config: input.config };
  }),
  on: () => () => {},
  onConnection: () => () => {},
}));

const { studio } = await import('../lib/studio.svelte');
const { default: RunForm } = await import('./RunForm.svelte');

const dataset: Dataset = {
  id: 7,
  projectId: 1,
  name: 'digits',
  sourcePath: '/data/digits',
  width: 28,
  height: 28,
  channels: 1,
  count: 100,
  labels: ['0', '1'],
  labelCounts: [50, 50],
  skipped: [],
  warnings: [],
  settings: importSettingsSchema.parse({}),
  splitCounts: { train: 80, validation: 10, test: 10 },
  stats: { seconds: 1 } as Dataset['stats'],
  previousId: null,
  contentHash: 'x',
  createdAt: '2025-01-01T00:00:00Z',
};

/** Settings whose field the form shows only under some choices (the others are always there). */
const conditional: RunSetting[] = [
  'flow', 'flowSteps', 'labelFraction', 'classifierWeight', 'codebookSize', 'codeDim', 'commitment', 'codebookDecay',
  'priorEpochs', 'gaussianSigma', 'decoderVariance', 'objective', 'beta', 'klWarmupSteps', 'freeBits', 'capacityMax',
  'capacitySteps', 'capacityGamma', 'denoiseSigma', 'denoiseMaskProb', 'lrDecayRate', 'lrDecaySteps',
];
/** The form's field for a setting (it holds the share of labels as a percentage). */
const fieldOf = (setting: RunSetting): string => (setting === 'labelFraction' ? 'labelPercent' : setting);

let component: ReturnType<typeof mount> | null = null;
const field = (name: string): HTMLInputElement | HTMLSelectElement | null => document.querySelector(`form [name="${name}"]`);

function choose(name: string, value: string): void {
  const select = field(name) as HTMLSelectElement;
  expect(select, name).not.toBeNull();
  for (const option of select.options) option.selected = option.value === value;
  select.dispatchEvent(new Event('change', { bubbles: true }));
  flushSync();
}

function type(name: string, value: string): void {
  const input = field(name) as HTMLInputElement;
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

beforeEach(() => {
  localStorage.clear();
  calls.length = 0;
  studio.projectId = 1;
  studio.datasets = [dataset];
  component = mount(RunForm, { target: document.body, props: { onstarted: () => {} } });
  flushSync();
});
afterEach(() => {
  if (component) void unmount(component);
  component = null;
  document.body.innerHTML = '';
});

describe('RunForm', () => {
  it.each(modelFamilies)('for family %s shows exactly the settings it reads, under each objective, decoder, flow, denoising and decay', (family) => {
    choose('family', family);
    const combos = [
      { objective: 'beta', decoder: 'bernoulli', flow: 'none', denoise: 'none', lrDecay: 'none' },
      { objective: 'capacity', decoder: 'gaussian', flow: 'planar', denoise: 'gaussian', lrDecay: 'step' },
      { objective: 'beta', decoder: 'gaussian', flow: 'iaf', denoise: 'mask', lrDecay: 'exponential' },
    ] as const;
    for (const combo of combos) {
      for (const [name, value] of Object.entries(combo)) if (field(name)) choose(name, value);
      const choices = { family, architecture: 'mlp', ...combo } as const;
      for (const setting of conditional) {
        // A choice the family does not read is not on screen; it keeps its default.
        const expected = settingApplies(setting, field('objective') ? choices : { ...choices, objective: 'beta', flow: 'none' });
        expect(field(fieldOf(setting)) !== null, `${family} ${JSON.stringify(combo)}: ${setting}`).toBe(expected);
      }
    }
    // A Gaussian latent has a size; a VQ-VAE (MLP here) has code positions instead.
    expect(field('latent') !== null).toBe(FAMILIES[family].engine === 'gaussian');
    expect(field('codePositions') !== null).toBe(family === 'vqvae');
  });

  it('labels each setting with the words the compare view names it by', () => {
    const shown = new Map<string, string>();
    for (const family of modelFamilies) {
      choose('family', family);
      for (const combo of [{ objective: 'capacity', decoder: 'gaussian', flow: 'planar', denoise: 'gaussian', lrDecay: 'step' }, { decoder: 'logistic', denoise: 'mask' }]) {
        for (const [name, value] of Object.entries(combo)) if (field(name)) choose(name, value);
        for (const box of document.querySelectorAll<HTMLElement>('form [data-field]')) {
          // A field's own label, or the name a group of choices carries.
          const own = box.firstElementChild?.tagName === 'LABEL' ? box.firstElementChild.textContent : box.querySelector('[role="radiogroup"]')?.getAttribute('aria-label');
          shown.set(box.dataset['field']!, own?.trim() ?? '');
        }
      }
    }
    const runs = [
      { ...defaultRunConfig(), family: 'vqvae', decoder: 'gaussian' },
      { ...defaultRunConfig(), family: 'm2', objective: 'capacity', flow: 'planar', denoise: 'gaussian', lrDecay: 'step', decoder: 'logistic' },
      { ...defaultRunConfig(), denoise: 'mask', decoder: 'gaussian', decoderVariance: 'global' },
    ] as RunConfig[];
    const compared = new Map(configDiff(runs.map((config) => ({ config, datasetName: 'digits' }))).map((row) => [row.key, row.label]));
    let checked = 0;
    for (const [name, label] of shown) {
      if (name === 'name' || name === 'datasetId') continue;
      if (name === 'labelPercent') {
        expect(label).toBe(`${settingLabel('labelFraction')} (%)`);
        continue;
      }
      expect(label, name).toBe(settingLabel(name));
      if (compared.has(name)) {
        expect(compared.get(name), name).toBe(label);
        checked++;
      }
    }
    expect(shown.size).toBeGreaterThan(30);
    expect(checked).toBeGreaterThan(30);
  });

  it('offers a conv classifier only to M2 with the conv model', () => {
    choose('family', 'm2');
    expect(field('classifier')).toBeNull();
    (document.querySelector('[data-testid="run-model-conv"]') as HTMLInputElement).click();
    flushSync();
    expect(field('classifier')).not.toBeNull();
    choose('family', 'vae');
    expect(field('classifier')).toBeNull();
  });

  it('sends neither the β settings a VQ-VAE ignores nor the codebook a VAE ignores, and does not fail on them', async () => {
    type('beta', '-5'); // invalid, but about to be hidden
    type('freeBits', '0.5');
    choose('family', 'vqvae');
    type('codebookSize', '64');
    (document.querySelector('[data-testid="run-start"]') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    const start = document.querySelector('[data-testid="run-start"]') as HTMLButtonElement;
    await vi.waitFor(() => expect(start.textContent).toContain('Start training'));
    expect(calls[0]!.input.config).toMatchObject({ family: 'vqvae', codebookSize: 64, beta: 1, freeBits: 0, objective: 'beta', flow: 'none' });

    choose('family', 'vae');
    type('beta', '2');
    (document.querySelector('[data-testid="run-start"]') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    expect(document.querySelector('[data-testid="run-form-error"]')).toBeNull();
    // The codebook typed for the VQ-VAE stays out of the VAE's config.
    expect(calls[1]!.input.config).toMatchObject({ family: 'vae', beta: 2, codebookSize: 128 });
  });

  it("keeps each preset's own norm and Adam 1e-3 for a scaled conv at 64 px (the centred input is proposed instead), and a norm or step size chosen by hand", async () => {
    if (component) void unmount(component);
    document.body.innerHTML = '';
    studio.datasets = [{ ...dataset, id: 8, name: 'scenes', width: 64, height: 64, channels: 3 }];
    component = mount(RunForm, { target: document.body, props: { onstarted: () => {} } });
    flushSync();
    const lr = (): number => Number((field('learningRate') as HTMLInputElement).value);
    const norm = (): string => (field('convNorm') as HTMLSelectElement | null)?.value ?? '';
    const pick = (testid: string): void => {
      (document.querySelector(`[data-testid="${testid}"]`) as HTMLInputElement).click();
      flushSync();
    };
    pick('run-model-conv');
    // Medium: its layer norm, the schema's 1e-3, no note on the step size; the preset chooser's hints name each preset's own norm.
    expect(norm()).toBe('layer');
    expect(lr()).toBe(0.001);
    expect(document.querySelector('[data-testid="run-training-proposal"]')).toBeNull();
    const hints = [...document.querySelectorAll('.conv-hint')].map((h) => h.textContent);
    expect(hints.filter((h) => /, layer norm$/.test(h ?? ''))).toHaveLength(2);
    expect(hints.filter((h) => /, no norm$/.test(h ?? ''))).toHaveLength(1);
    pick('run-conv-arch-small');
    expect(norm()).toBe('none');
    expect(lr()).toBe(0.001);
    // A norm and step size chosen by hand are sent as chosen.
    pick('run-conv-arch-large');
    expect(norm()).toBe('layer');
    choose('convNorm', 'none');
    type('learningRate', '0.002');
    (document.querySelector('[data-testid="run-start"]') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]!.input.config).toMatchObject({ architecture: 'conv', convArch: 'large', convNorm: 'none', learningRate: 0.002, encoderInput: 'centred' });
  });

  it('leaves a 28 px dataset at the preset layer norm and Adam 1e-3', () => {
    (document.querySelector('[data-testid="run-model-conv"]') as HTMLInputElement).click();
    flushSync();
    expect((field('convNorm') as HTMLSelectElement).value).toBe('layer');
    expect([...document.querySelectorAll('.conv-hint')].filter((h) => /, layer norm$/.test(h.textContent ?? ''))).toHaveLength(2);
    expect(Number((field('learningRate') as HTMLInputElement).value)).toBe(0.001);
    expect(document.querySelector('[data-testid="run-training-proposal"]')).toBeNull();
  });
});

describe('RunForm encoder input', () => {
  const note = (): string => document.querySelector('[data-testid="run-encoder-input-note"]')?.textContent ?? '';
  const input = (): string => (field('encoderInput') as HTMLSelectElement).value;
  const pick = (testid: string): void => {
    (document.querySelector(`[data-testid="${testid}"]`) as HTMLInputElement).click();
    flushSync();
  };
  function onScenes(): void {
    if (component) void unmount(component);
    document.body.innerHTML = '';
    studio.datasets = [{ ...dataset, id: 8, name: 'scenes', width: 64, height: 64, channels: 3 }];
    component = mount(RunForm, { target: document.body, props: { onstarted: () => {} } });
    flushSync();
  }

  it('proposes the centred input for a scaled conv at 64 px with its reason, follows the model, and sends it', async () => {
    onScenes();
    expect(document.querySelector('[data-field="encoderInput"] label')?.textContent?.trim()).toBe('Encoder input');
    // At 64 px a new run starts on the conv model's default preset, centred.
    expect((document.querySelector('[data-testid="run-conv-arch-medium"]') as HTMLInputElement).checked).toBe(true);
    expect(input()).toBe('centred');
    // The MLP: not centred, and the note says where centring is proposed.
    pick('run-model-mlp');
    expect(input()).toBe('unit');
    expect(note()).toMatch(/^Not centred: .*proposed for a scaled conv at 64 px/);
    pick('run-model-conv');
    expect(input()).toBe('centred');
    expect(note()).toMatch(/^Centred: the encoder reads 2x − 1/);
    pick('run-conv-arch-classic');
    expect(input()).toBe('unit');
    pick('run-conv-arch-medium');
    expect(input()).toBe('centred');
    (document.querySelector('[data-testid="run-start"]') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]!.input.config).toMatchObject({ architecture: 'conv', convArch: 'medium', encoderInput: 'centred' });
  });

  it('proposes the conv model for a first run at 64 px and says why; the last run\'s MLP, recalled, and a 28 px dataset keep theirs', async () => {
    const modelNote = (): string => document.querySelector('[data-testid="run-model-note"]')?.textContent ?? '';
    const model = (): string => (document.querySelector('[data-testid="run-model-conv"]') as HTMLInputElement).checked ? 'conv' : 'mlp';
    onScenes();
    expect(model()).toBe('conv');
    expect(modelNote()).toMatch(/^The convolutional model is proposed for these images\. At 64 px and more/);
    pick('run-model-mlp');
    expect(modelNote()).toMatch(/^MLP \(chosen\)\. Proposed here: the convolutional model\./);
    (document.querySelector('[data-testid="run-start"]') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]!.input.config).toMatchObject({ architecture: 'mlp' });
    await vi.waitFor(() => expect(localStorage.length).toBe(1));
    // The next form in this project starts from that run's settings: the MLP stays.
    if (component) void unmount(component);
    document.body.innerHTML = '';
    component = mount(RunForm, { target: document.body, props: { onstarted: () => {} } });
    flushSync();
    expect(model()).toBe('mlp');
    // Another dataset of 28 px: nothing proposed, nothing said.
    localStorage.clear();
    if (component) void unmount(component);
    document.body.innerHTML = '';
    studio.datasets = [dataset];
    component = mount(RunForm, { target: document.body, props: { onstarted: () => {} } });
    flushSync();
    expect(model()).toBe('mlp');
    expect(document.querySelector('[data-testid="run-model-note"]')).toBeNull();
  });

  it('keeps a choice made by hand when the model changes, names the proposal beside it, and sends not centred as a config without the field', async () => {
    onScenes();
    pick('run-model-conv');
    choose('encoderInput', 'unit');
    expect(note()).toMatch(/^Not centred \(chosen\).*Proposed here: centred/);
    pick('run-conv-arch-large');
    expect(input()).toBe('unit');
    (document.querySelector('[data-testid="run-start"]') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]!.input.config).not.toHaveProperty('encoderInput');
  });

  it('a clone of a run stored without the setting shows it not centred; a centred run clones centred', async () => {
    const { rememberRunForm, runFormFrom } = await import('../lib/run-form');
    for (const [stored, shown] of [
      [defaultRunConfig(), 'unit'],
      [{ ...defaultRunConfig(), encoderInput: 'centred' as const }, 'centred'],
    ] as const) {
      if (component) void unmount(component);
      document.body.innerHTML = '';
      rememberRunForm(1, runFormFrom(stored, 7));
      component = mount(RunForm, { target: document.body, props: { onstarted: () => {} } });
      flushSync();
      expect(input(), shown).toBe(shown);
    }
  });
});
