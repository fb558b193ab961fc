import { describe, expect, it } from '@jest/globals';
import { addressUnit, hashSubject } from '../../src/rate-limit/subjects.js';

describe('rate-limit subjects', () => {
  it('counts IPv4 addresses one by one', () => {
    expect(addressUnit('203.0.113.7')).toBe('v4:203.0.113.7');
    expect(addressUnit('203.0.113.8')).not.toBe(addressUnit('203.0.113.7'));
  });

  it('counts IPv6 addresses by their /64, whatever the spelling', () => {
    const unit = 'v6:2001:db8:85a3:0::/64';
    expect(addressUnit('2001:db8:85a3::8a2e:370:7334')).toBe(unit);
    expect(addressUnit('2001:0DB8:85A3:0000:ffff:ffff:ffff:ffff')).toBe(unit);
    expect(addressUnit('2001:db8:85a3:0:1::1')).toBe(unit);
    expect(addressUnit('2001:db8:85a3:1::1')).not.toBe(unit);
    expect(addressUnit('::1')).toBe('v6:0:0:0:0::/64');
    expect(addressUnit('fe80::1%eth0')).toBe('v6:fe80:0:0:0::/64');
    expect(addressUnit('64:ff9b::192.0.2.33')).toBe('v6:64:ff9b:0:0::/64');
  });

  it('counts IPv4-mapped IPv6 as the IPv4 address (dual-stack sockets)', () => {
    expect(addressUnit('::ffff:203.0.113.7')).toBe('v4:203.0.113.7');
    expect(addressUnit('::ffff:cb00:7107')).toBe('v4:203.0.113.7');
  });

  it('counts anything else as itself, and no address as one shared unit', () => {
    expect(addressUnit('garbage, not an address')).toBe('raw:garbage, not an address');
    expect(addressUnit(null)).toBe('none');
    expect(addressUnit('')).toBe('none');
  });

  it('hashes subjects to short key-safe tokens, whatever their size', () => {
    const h = hashSubject('x'.repeat(100_000));
    expect(h).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(hashSubject('v4:203.0.113.7')).toBe(hashSubject('v4:203.0.113.7'));
    expect(hashSubject('v4:203.0.113.7')).not.toBe(hashSubject('v4:203.0.113.8'));
    expect(hashSubject('v4:203.0.113.7')).not.toContain('203');
  });
});
