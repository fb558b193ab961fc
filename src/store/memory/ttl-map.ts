/** The clock expiries are measured by (epoch ms). */
export type Clock = () => number;

/**
 * A Map whose entries may carry an expiry (epoch ms, by `clock`: the real clock by default,
 * like Redis TTLs; tests inject one they can move). An expired entry is invisible and removed
 * on access; a periodic sweep is unnecessary for a development store, but `sweep()` exists so
 * a long-running dev server does not grow.
 */
export class TtlMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number | null }>();

  constructor(readonly clock: Clock = Date.now) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== null && e.expiresAt <= this.clock()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** When a live entry expires (null: never), or undefined when absent. */
  expiry(key: string): number | null | undefined {
    return this.has(key) ? this.entries.get(key)!.expiresAt : undefined;
  }

  /** `expiresAt` null = no expiry. An expiry already past deletes the entry (like PEXPIREAT). */
  set(key: string, value: V, expiresAt: number | null = null): void {
    if (expiresAt !== null && expiresAt <= this.clock()) {
      this.entries.delete(key);
      return;
    }
    this.entries.set(key, { value, expiresAt });
  }

  delete(key: string): boolean {
    const existed = this.has(key);
    this.entries.delete(key);
    return existed;
  }

  sweep(): void {
    const now = this.clock();
    for (const [k, e] of this.entries) if (e.expiresAt !== null && e.expiresAt <= now) this.entries.delete(k);
  }

  /** Entries held, including expired ones not yet removed. */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
