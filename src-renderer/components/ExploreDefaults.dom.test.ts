import { describe, expect, it } from 'vitest';
import ExploreSamples from './ExploreSamples.svelte';
import ExploreTraverse from './ExploreTraverse.svelte';
import { ExploreModel } from '../lib/explore.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeExploreInfo } from '../test/fixtures';
import { click, render, settle, waitFor } from '../test/render';

const info = makeExploreInfo();

const image = (index: number) => ({ index, label: index % 2, dataUrl: `data:image/png;base64,${index}` });

/** A model whose info and test strip come from the fake core (test images: `test`). */
async function openModel(test: number[]): Promise<ExploreModel> {
  fakeBridge.answer('explore.info', info);
  fakeBridge.answer('explore.images', { split: 'test', total: test.length, images: test.map(image) });
  const model = new ExploreModel(5, 'best');
  await model.open();
  return model;
}

describe('Explore defaults', () => {
  it('traverses from the first test image, not the origin, and asks once; the origin stays one click away', async () => {
    fakeBridge.answer('explore.traverse', ({ base = null }) => ({ base, dims: [0, 1], kl: [1, 0.5], values: [-1, 0, 1], gridDataUrl: 'data:image/png;base64,g' }));
    const model = await openModel([7, 8, 9]);
    const view = render(ExploreTraverse, { model });
    await waitFor(() => expect(fakeBridge.inputs('explore.traverse')).toHaveLength(1));
    const first = fakeBridge.inputs('explore.traverse')[0] as { base: number | null };
    expect(first.base).toBe(model.strip[0]!.index);
    expect(view.target.textContent).toContain(`the posterior mean of test image #${first.base}`);
    click(view.get('traverse-base-origin'));
    await waitFor(() => expect((fakeBridge.inputs('explore.traverse').at(-1) as { base: number | null }).base).toBeNull());
    expect(view.target.textContent).toContain('the origin, z = 0');
  });

  it('uses the origin when the split has no test images', async () => {
    fakeBridge.answer('explore.traverse', ({ base = null }) => ({ base, dims: [0], kl: [1], values: [0], gridDataUrl: 'data:image/png;base64,g' }));
    const model = await openModel([]);
    render(ExploreTraverse, { model });
    await waitFor(() => expect(fakeBridge.inputs('explore.traverse')).toHaveLength(1));
    expect((fakeBridge.inputs('explore.traverse')[0] as { base: number | null }).base).toBeNull();
  });

  it('at temperature 0 asks for one sample and says why, not 64 copies of it', async () => {
    fakeBridge.answer('explore.samples', ({ count = 64, temperature = 1, seed = 1 }) => ({ count, temperature, seed, cols: 8, gridDataUrl: 'data:image/png;base64,s' }));
    const model = await openModel([1]);
    const view = render(ExploreSamples, { model });
    await waitFor(() => expect(fakeBridge.inputs('explore.samples')).toHaveLength(1));
    expect((fakeBridge.inputs('explore.samples')[0] as { count: number }).count).toBe(64);
    expect(view.query('samples-single')).toBeNull();

    const slider = view.get('samples-temperature') as HTMLInputElement;
    slider.value = '0';
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    await waitFor(() => expect((fakeBridge.inputs('explore.samples').at(-1) as { count: number; temperature: number })).toMatchObject({ count: 1, temperature: 0 }));
    expect(view.get('samples-single').textContent).toContain('one image stands for all 64');

    slider.value = '0.5';
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    await waitFor(() => expect((fakeBridge.inputs('explore.samples').at(-1) as { count: number }).count).toBe(64));
    await settle();
    expect(view.query('samples-single')).toBeNull();
  });
});
