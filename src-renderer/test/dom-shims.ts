/**
 * What happy-dom lacks and the components need, filled in for the renderer-dom tests.
 *
 * 1. A 2D canvas: happy-dom has none. Charts (chart.js) and the inpaint canvas only need
 * one that accepts their drawing calls: every method is a no-op, measureText answers a
 * width, and the image-data calls answer blank pixels. Nothing here is asserted on; the
 * components expose what they draw as data-* attributes.
 */
const contexts = new WeakMap<HTMLCanvasElement, CanvasRenderingContext2D>();

function stubContext(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const state: Record<PropertyKey, unknown> = {
    canvas,
    font: '10px sans-serif',
    fillStyle: '#000',
    strokeStyle: '#000',
    lineWidth: 1,
    globalAlpha: 1,
    textAlign: 'start',
    textBaseline: 'alphabetic',
    imageSmoothingEnabled: true,
    measureText: (text: string) => ({ width: String(text).length * 6, actualBoundingBoxAscent: 8, actualBoundingBoxDescent: 2 }),
    getLineDash: () => [],
    getTransform: () => ({ a: 1, b: 0, c: 0, d: 1, e: 0, f: 0 }),
    createImageData: (w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
    getImageData: (_x: number, _y: number, w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
    createLinearGradient: () => ({ addColorStop() {} }),
    createRadialGradient: () => ({ addColorStop() {} }),
    createPattern: () => ({}),
  };
  const noop = (): void => {};
  return new Proxy(state, {
    get: (target, key) => (key in target ? target[key] : noop),
    set: (target, key, value) => {
      target[key] = value;
      return true;
    },
  }) as unknown as CanvasRenderingContext2D;
}

function installCanvasStub(): void {
  HTMLCanvasElement.prototype.getContext = function getContext(this: HTMLCanvasElement, type: string) {
    if (type !== '2d') return null;
    let context = contexts.get(this);
    if (!context) contexts.set(this, (context = stubContext(this)));
    return context;
  } as HTMLCanvasElement['getContext'];
}

/**
 * 2. `:checked` on a select's options: happy-dom matches it only on inputs, where
 * browsers also match the selected <option>, and its selectedOptions can lag behind
 * selectedIndex. Svelte's `bind:value` on a <select> reads
 * the choice with `select.querySelector(':checked')`.
 */
function installSelectedOptionQuery(): void {
  const one = HTMLSelectElement.prototype.querySelector;
  const every = HTMLSelectElement.prototype.querySelectorAll;
  // selectedIndex is kept right; happy-dom's selectedOptions can lag behind it.
  const chosen = (select: HTMLSelectElement): HTMLOptionElement[] =>
    select.multiple ? [...select.options].filter((option) => option.selected) : select.selectedIndex < 0 ? [] : [select.options[select.selectedIndex]!];
  HTMLSelectElement.prototype.querySelector = function querySelector(this: HTMLSelectElement, selector: string) {
    return selector === ':checked' ? (chosen(this)[0] ?? null) : one.call(this, selector);
  } as HTMLSelectElement['querySelector'];
  HTMLSelectElement.prototype.querySelectorAll = function querySelectorAll(this: HTMLSelectElement, selector: string) {
    return selector === ':checked' ? (chosen(this) as unknown as NodeListOf<Element>) : every.call(this, selector);
  } as HTMLSelectElement['querySelectorAll'];
}

export function installDomShims(): void {
  installCanvasStub();
  installSelectedOptionQuery();
}
