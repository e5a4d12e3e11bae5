/**
 * The project's one seeded generator (mulberry32). Its whole state is one 32-bit integer, so a
 * checkpoint can store it and a resumed run draws exactly what the uninterrupted run would.
 */
export class SeededRandom {
  private value: number;

  constructor(seed: number) {
    this.value = seed >>> 0;
  }

  /** The state to store in a checkpoint (and to restore by assignment). */
  get state(): number {
    return this.value;
  }

  set state(state: number) {
    this.value = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.value = (this.value + 0x6d2b79f5) >>> 0;
    let t = this.value;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A fresh permutation of 0..n−1 (Fisher–Yates). */
  permutation(n: number): number[] {
    return this.sample(n, n);
  }

  /** `count` distinct integers from [0, n), in random order. */
  sample(n: number, count: number): number[] {
    const pool = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < count; i++) {
      const j = i + this.int(n - i);
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, count);
  }

  /** `count` distinct items of `items`, in random order. */
  choose<T>(items: readonly T[], count: number): T[] {
    return this.sample(items.length, count).map((i) => items[i]);
  }
}
