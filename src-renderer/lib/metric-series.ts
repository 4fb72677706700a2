import type { SeriesPoint } from './chart-series';

/**
 * A metric's points as columns (typed arrays that double as they fill), so a run of a
 * million steps costs 32 MB per metric instead of a million objects, plus an index
 * that answers "which point is lowest / highest between i and j" in O(log n). That
 * index is what lets a chart decimate to its pixel width in time that does not grow
 * with the run (see decimate.ts).
 */

/** What the charts and figures read: arrays of points and MetricSeries both fit. */
export interface SeriesLike {
  readonly length: number;
  at(index: number): SeriesPoint | undefined;
}

/**
 * Positions of the minimum and maximum of a growing column over any index range.
 * Level k holds, for each aligned block of 2^k values, where its min and max are;
 * appending updates one block per level, a query combines O(log n) whole blocks.
 */
export class ExtremaIndex {
  static readonly LEVELS = 26;
  readonly #min: number[][] = [];
  readonly #max: number[][] = [];
  #length = 0;

  constructor(private readonly valueAt: (index: number) => number) {
    for (let k = 0; k <= ExtremaIndex.LEVELS; k++) {
      this.#min.push([]);
      this.#max.push([]);
    }
  }

  get length(): number {
    return this.#length;
  }

  /** Records the value now at index `length` (values are appended in order). */
  append(): void {
    const i = this.#length++;
    const value = this.valueAt(i);
    for (let k = 1; k <= ExtremaIndex.LEVELS; k++) {
      const block = i >>> k;
      const mins = this.#min[k]!;
      const maxs = this.#max[k]!;
      if ((i & ((1 << k) - 1)) === 0) {
        mins[block] = i;
        maxs[block] = i;
      } else {
        if (value < this.valueAt(mins[block]!)) mins[block] = i;
        if (value > this.valueAt(maxs[block]!)) maxs[block] = i;
      }
    }
  }

  clear(): void {
    this.#length = 0;
    for (let k = 0; k <= ExtremaIndex.LEVELS; k++) {
      this.#min[k]!.length = 0;
      this.#max[k]!.length = 0;
    }
  }

  /** [index of the min, index of the max] over from ≤ i < to (to > from); ties keep the first. */
  extrema(from: number, to: number): [number, number] {
    let lo = from;
    let iMin = from;
    let iMax = from;
    while (lo < to) {
      let k = 0;
      while (k < ExtremaIndex.LEVELS && (lo & ((2 << k) - 1)) === 0 && lo + (2 << k) <= to) k++;
      const candidateMin = k === 0 ? lo : this.#min[k]![lo >>> k]!;
      const candidateMax = k === 0 ? lo : this.#max[k]![lo >>> k]!;
      if (this.valueAt(candidateMin) < this.valueAt(iMin)) iMin = candidateMin;
      if (this.valueAt(candidateMax) > this.valueAt(iMax)) iMax = candidateMax;
      lo += 1 << k;
    }
    return [iMin, iMax];
  }
}

/** A growable Float64Array column. */
export class Column {
  #data = new Float64Array(64);
  length = 0;

  get(index: number): number {
    return this.#data[index]!;
  }

  push(value: number): void {
    if (this.length === this.#data.length) {
      const grown = new Float64Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data[this.length++] = value;
  }

  clear(): void {
    this.length = 0;
  }
}

/** One metric of one run: steps ascending, values finite (the feed filters the rest). */
export class MetricSeries implements SeriesLike {
  readonly #step = new Column();
  readonly #epoch = new Column();
  readonly #t = new Column();
  readonly #y = new Column();
  readonly extrema = new ExtremaIndex((index) => this.#y.get(index));

  static from(points: readonly SeriesPoint[]): MetricSeries {
    const series = new MetricSeries();
    for (const point of points) series.push(point);
    return series;
  }

  get length(): number {
    return this.#y.length;
  }

  push(point: SeriesPoint): void {
    this.#step.push(point.step);
    this.#epoch.push(point.epoch);
    this.#t.push(point.t);
    this.#y.push(point.y);
    this.extrema.append();
  }

  step(index: number): number {
    return this.#step.get(index);
  }

  epoch(index: number): number {
    return this.#epoch.get(index);
  }

  /** Milliseconds since the run started. */
  t(index: number): number {
    return this.#t.get(index);
  }

  y(index: number): number {
    return this.#y.get(index);
  }

  /** Like Array.prototype.at: negative indices count from the end. */
  at(index: number): SeriesPoint | undefined {
    const i = index < 0 ? this.length + index : index;
    if (i < 0 || i >= this.length) return undefined;
    return { step: this.step(i), epoch: this.epoch(i), t: this.t(i), y: this.y(i) };
  }
}
