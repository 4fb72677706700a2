import type { ExploreInfo } from '@shared/api';
import type { DatasetImage, SplitName } from '@shared/inference';
import { call } from './api';
import { toUserError } from './errors';
import { Latest } from './latest';
import { LruCache } from './lru';
import { spreadByLabel } from './pick-strip';

export type CheckpointKind = 'best' | 'last';

/**
 * One Explore question whose newest answer a panel shows. Slider drags are debounced
 * and a late answer to an older question is dropped (lib/latest.ts); the previous
 * answer stays on screen while the next one is computed, so nothing flickers.
 */
export class ExploreQuery<I, O> {
  value = $state.raw<O | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  readonly #latest: Latest<I, O>;

  constructor(send: (input: I) => Promise<O>, delayMs = 180) {
    this.#latest = new Latest(
      send,
      {
        result: (output) => {
          this.value = output;
          this.error = null;
        },
        error: (error) => {
          this.error = toUserError(error).message;
        },
        pending: (pending) => {
          this.loading = pending;
        },
      },
      delayMs,
    );
  }

  request(input: I, immediate = false): void {
    this.#latest.request(input, immediate);
  }

  cancel(): void {
    this.#latest.cancel();
  }
}

/**
 * A run's model as Explore uses it: which checkpoint, what the model session reported
 * when it opened (explore.info: the first request starts a worker and loads the
 * checkpoint, so it takes seconds), a strip of test images to pick bases and end points
 * from, and a cache of single images for the latent map's hover.
 */
export class ExploreModel {
  readonly runId: number;
  readonly checkpoint: CheckpointKind;
  info = $state.raw<ExploreInfo | null>(null);
  error = $state<string | null>(null);
  /** Test images to pick from: a few of each label. */
  strip = $state.raw<DatasetImage[]>([]);
  stripError = $state<string | null>(null);
  /** The strip's request has answered (with images, none, or an error). */
  stripSettled = $state(false);
  /** Images in the test split. */
  testTotal = $state(0);
  readonly #images = new LruCache<number, DatasetImage>(300);
  #closed = false;

  constructor(runId: number, checkpoint: CheckpointKind) {
    this.runId = runId;
    this.checkpoint = checkpoint;
  }

  /** The fields every explore request starts with. */
  get ref(): { runId: number; checkpoint: CheckpointKind } {
    return { runId: this.runId, checkpoint: this.checkpoint };
  }

  async open(stripCount = 30): Promise<void> {
    try {
      const info = await call('explore.info', this.ref);
      if (this.#closed) return;
      this.info = info;
    } catch (error) {
      if (!this.#closed) this.error = toUserError(error).message;
      return;
    }
    try {
      // Pages from across the split (it may be stored sorted by label), then a few of each label.
      const { total, images } = await fetchAcrossSplit(this.ref, 'test');
      if (this.#closed) return;
      for (const image of images) this.#images.set(image.index, image);
      this.strip = spreadByLabel(images, stripCount);
      this.testTotal = total;
    } catch (error) {
      if (!this.#closed) this.stripError = toUserError(error).message;
    } finally {
      if (!this.#closed) this.stripSettled = true;
    }
  }

  /** One dataset image by index, from the cache or the model session. */
  image(index: number): Promise<DatasetImage> {
    return this.#images.load(index, async (i) => {
      const { images } = await call('explore.images', { ...this.ref, indices: [i] });
      const image = images[0];
      if (!image) throw new Error(`Image ${i} did not come back`);
      return image;
    });
  }

  cachedImage(index: number): DatasetImage | undefined {
    return this.#images.get(index);
  }

  /** Answers that arrive after the view moved on are dropped. */
  close(): void {
    this.#closed = true;
  }
}

/**
 * A few pages from across a split (it may be stored sorted by label): up to 4 × 64
 * images, each once, and the split's size. Pickers spread them with spreadByLabel.
 */
export async function fetchAcrossSplit(
  ref: { runId: number; checkpoint: 'best' | 'last' },
  split: SplitName,
  pageSize = 64,
): Promise<{ total: number; images: DatasetImage[] }> {
  const first = await call('explore.images', { ...ref, split, count: pageSize });
  const offsets = [1, 2, 3]
    .map((k) => Math.floor((first.total * k) / 4))
    .filter((offset, i, all) => offset >= pageSize && all.indexOf(offset) === i);
  const rest = await Promise.all(offsets.map((offset) => call('explore.images', { ...ref, split, offset, count: pageSize })));
  const all = [first, ...rest].flatMap((page) => page.images);
  // Pages may overlap on a small split; each image once (a few hundred at most).
  return { total: first.total, images: all.filter((image, i) => all.findIndex((other) => other.index === image.index) === i) };
}
