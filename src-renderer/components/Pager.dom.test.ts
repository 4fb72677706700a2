import { describe, expect, it } from 'vitest';
import Pager from './Pager.svelte';
import SplitSelect from './SplitSelect.svelte';
import { choose, click, render } from '../test/render';

describe('Pager', () => {
  it('shows the range on show and steps a page at a time, stopping at either end', () => {
    const view = render(Pager, { offset: 0, page: 12, shown: 12, total: 30, testid: 'list' });
    const prev = view.get('list-prev') as HTMLButtonElement;
    const next = view.get('list-next') as HTMLButtonElement;
    expect(view.get('list-range').textContent).toBe('1–12 of 30');
    expect(prev.disabled).toBe(true);
    expect(next.disabled).toBe(false);
    click(next);
    expect(view.get('list-range').textContent).toBe('13–24 of 30');
    expect(prev.disabled).toBe(false);
    click(next);
    expect(next.disabled).toBe(true);
    click(prev);
    click(prev);
    expect(view.get('list-range').textContent).toBe('1–12 of 30');
    expect(prev.disabled).toBe(true);
  });

  it('writes large totals with thousands separators and never offers Next on the last page', () => {
    const view = render(Pager, { offset: 1020, page: 12, shown: 4, total: 1024, testid: 'list' });
    expect(view.get('list-range').textContent).toBe('1021–1024 of 1,024');
    expect((view.get('list-next') as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('SplitSelect', () => {
  it('offers any split or one of train, validation and test, labelled Split', () => {
    const view = render(SplitSelect, { value: '', testid: 'split' });
    const select = view.get('split') as HTMLSelectElement;
    expect([...select.options].map((o) => [o.value, o.textContent])).toEqual([
      ['', 'any'],
      ['train', 'train'],
      ['validation', 'validation'],
      ['test', 'test'],
    ]);
    expect(select.closest('label')?.textContent?.trim().startsWith('Split')).toBe(true);
    choose(select, 'test');
    expect(select.value).toBe('test');
  });
});
