import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;
type Tree = Map<string, Tree | number>;
type Value = { value: number; labels: Labels | Record<string, string | number>; metricName?: string };

/**
 * The label sets of one metric, each a slot number found by walking a tree of Maps by label value
 * (no key string built or hashed per call, unlike prom-client's `hashObject`). Callers on a hot path
 * look a slot up once and keep it. The registry reads the metric through `get()`, as it reads
 * prom-client's own: label sets in the order of their first count, as prom-client lists them.
 */
abstract class LabelledMetric {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  /** Each slot's labels, in `labelNames` order (the order prom-client prints the labels it was given). */
  protected readonly labels: Labels[] = [];
  /** Slots counted since start or reset, in the order of their first count. */
  protected order: number[] = [];
  readonly #tree: Tree = new Map();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    // The registry takes any object with its metrics' shape (name, help, type, aggregator, get, reset).
    registry.registerMetric(this as unknown as Metric);
  }

  /** The slot of one label set (values in `labelNames` order), made on first use. */
  slot(values: readonly string[]): number {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name}: expected labels ${this.labelNames.join(', ')}`);
    }
    let tree = this.#tree;
    for (let i = 0; i < values.length - 1; i++) {
      const value = values[i] as string;
      let next = tree.get(value) as Tree | undefined;
      if (next === undefined) {
        next = new Map();
        tree.set(value, next);
      }
      tree = next;
    }
    const last = values[values.length - 1] as string;
    let slot = tree.get(last) as number | undefined;
    if (slot === undefined) {
      slot = this.labels.length;
      tree.set(last, slot);
      this.labels.push(Object.fromEntries(this.labelNames.map((name, i) => [name, values[i] as string])));
      this.added(slot);
    }
    return slot;
  }

  async get(): Promise<{ name: string; help: string; type: string; values: Value[]; aggregator: string }> {
    const values: Value[] = [];
    for (const slot of this.order) this.values(slot, values);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.order = [];
    this.cleared();
  }

  protected abstract added(slot: number): void;
  protected abstract cleared(): void;
  protected abstract values(slot: number, into: Value[]): void;
}

/** A counter of events by label set (`inc(slot)` counts one), printed as prom-client's Counter. */
export class LabelledCounter extends LabelledMetric {
  readonly type = 'counter';
  #counts = new Float64Array(8);

  inc(slot: number): void {
    const before = this.#counts[slot] as number;
    this.#counts[slot] = before + 1;
    if (before === 0) this.order.push(slot);
  }

  protected added(slot: number): void {
    if (slot < this.#counts.length) return;
    const counts = new Float64Array(this.#counts.length * 2);
    counts.set(this.#counts);
    this.#counts = counts;
  }

  protected cleared(): void {
    this.#counts.fill(0);
  }

  protected values(slot: number, into: Value[]): void {
    into.push({ value: this.#counts[slot] as number, labels: this.labels[slot] as Labels });
  }
}

/**
 * A histogram by label set, printed as prom-client's Histogram: per slot a typed array of the counts in
 * each bucket (not cumulative), then the count and the sum, added to in observation order.
 */
export class LabelledHistogram extends LabelledMetric {
  readonly type = 'histogram';
  readonly #cells: Float64Array[] = [];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
  }

  observe(slot: number, value: number): void {
    // prom-client refuses these too; a NaN would poison the sum for good.
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const cells = this.#cells[slot] as Float64Array;
    const buckets = this.buckets;
    const n = buckets.length;
    let i = 0;
    while (i < n && value > (buckets[i] as number)) i++;
    // Above the last bucket: counted in +Inf only (the count).
    if (i < n) cells[i] = (cells[i] as number) + 1;
    const before = cells[n] as number;
    cells[n] = before + 1;
    cells[n + 1] = (cells[n + 1] as number) + value;
    if (before === 0) this.order.push(slot);
  }

  protected added(slot: number): void {
    this.#cells[slot] = new Float64Array(this.buckets.length + 2);
  }

  protected cleared(): void {
    for (const cells of this.#cells) cells.fill(0);
  }

  protected values(slot: number, into: Value[]): void {
    const cells = this.#cells[slot] as Float64Array;
    const labels = this.labels[slot] as Labels;
    const n = this.buckets.length;
    const bucket = `${this.name}_bucket`;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += cells[i] as number;
      into.push({ value: sum, labels: { le: this.buckets[i] as number, ...labels }, metricName: bucket });
    }
    into.push({ value: cells[n] as number, labels: { le: '+Inf', ...labels }, metricName: bucket });
    into.push({ value: cells[n + 1] as number, labels, metricName: `${this.name}_sum` });
    into.push({ value: cells[n] as number, labels, metricName: `${this.name}_count` });
  }
}
