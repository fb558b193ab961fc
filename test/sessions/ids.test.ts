import { describe, expect, it } from '@jest/globals';
import { isRandomId, randomBase64url, randomBuffer, randomId } from '../../src/sessions/ids.js';

describe('random ids (pooled CSPRNG bytes)', () => {
  it('are well-formed and never repeat, across many refills of the pool', () => {
    const seen = new Set<string>();
    // 20,000 × 16 bytes is ~78 refills of the 4 KB pool; odd sizes cross its boundary.
    for (let i = 0; i < 20_000; i++) {
      const id = randomId();
      expect(isRandomId(id)).toBe(true);
      seen.add(id);
      const odd = randomBase64url(1 + (i % 45));
      expect(Buffer.from(odd, 'base64url')).toHaveLength(1 + (i % 45));
    }
    expect(seen.size).toBe(20_000);
  });

  it('refuse sizes the pool cannot serve', () => {
    for (const n of [0, -1, 1.5, 4097]) expect(() => randomBase64url(n)).toThrow(RangeError);
    expect(Buffer.from(randomBase64url(4096), 'base64url')).toHaveLength(4096);
  });

  it('use every bit: over many ids each base64url character turns up about equally often', () => {
    const counts = new Map<string, number>();
    const n = 20_000;
    // The first 21 characters of an id carry 6 random bits each (the 22nd only 2).
    for (let i = 0; i < n; i++) for (const c of randomId().slice(0, 21)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(64);
    const expected = (n * 21) / 64;
    for (const count of counts.values()) expect(Math.abs(count - expected) / expected).toBeLessThan(0.1);
  });

  it('hand out buffers of their own: distinct, of the size asked, unchanged when the pool moves on', () => {
    const ivs = Array.from({ length: 2_000 }, () => randomBuffer(12));
    const copies = ivs.map((b) => Buffer.from(b));
    for (let i = 0; i < 1_000; i++) randomBase64url(16); // several refills and wipes of the pool
    expect(ivs.every((b, i) => b.length === 12 && b.equals(copies[i]!))).toBe(true);
    expect(new Set(ivs.map((b) => b.toString('hex'))).size).toBe(2_000);
    for (const n of [0, 4097]) expect(() => randomBuffer(n)).toThrow(RangeError);
  });
});
