/**
 * A Map whose entries may carry an expiry (epoch ms, by the real clock like Redis TTLs).
 * An expired entry is invisible and removed on access; a periodic sweep is unnecessary for a
 * development store, but `sweep()` exists so a long-running dev server does not grow.
 */
export class TtlMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number | null }>();

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== null && e.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** `expiresAt` null = no expiry. An expiry already past deletes the entry (like PEXPIREAT). */
  set(key: string, value: V, expiresAt: number | null = null): void {
    if (expiresAt !== null && expiresAt <= Date.now()) {
      this.entries.delete(key);
      return;
    }
    this.entries.set(key, { value, expiresAt });
  }

  /** Changes the expiry of a live entry; false when absent. */
  expireAt(key: string, expiresAt: number | null): boolean {
    const value = this.get(key);
    if (value === undefined) return false;
    this.set(key, value, expiresAt);
    return true;
  }

  delete(key: string): boolean {
    const existed = this.has(key);
    this.entries.delete(key);
    return existed;
  }

  sweep(): void {
    const now = Date.now();
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
