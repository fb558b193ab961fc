import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.js';
import { ROUTER_SECRET_HEADER, routerTrust } from '../../src/federation/router-trust.js';

describe('routerTrust', () => {
  const secret = 's'.repeat(40);

  it('trusts exactly the configured secret in the router-authorization header', () => {
    const trusted = routerTrust(secret);
    expect(ROUTER_SECRET_HEADER).toBe('router-authorization');
    expect(trusted({ 'router-authorization': secret })).toBe(true);
    for (const presented of [undefined, '', 's', secret + 's', secret.toUpperCase(), ` ${secret}`, [secret, secret]]) {
      expect({ presented, trusted: trusted({ 'router-authorization': presented as string }) }).toEqual({ presented, trusted: false });
    }
    expect(trusted({ authorization: secret })).toBe(false);
  });

  it('trusts nobody without a secret', () => {
    for (const secretSetting of [null, '']) {
      expect(routerTrust(secretSetting)({ 'router-authorization': '' })).toBe(false);
      expect(routerTrust(secretSetting)({})).toBe(false);
    }
  });
});

describe('ROUTER_SHARED_SECRET', () => {
  it('is unset by default and must be at least 32 characters when set', () => {
    expect(loadConfig({}).federation.routerSecret).toBeNull();
    expect(loadConfig({ ROUTER_SHARED_SECRET: 'k'.repeat(32) }).federation.routerSecret).toBe('k'.repeat(32));
    expect(() => loadConfig({ ROUTER_SHARED_SECRET: 'short' })).toThrow(/ROUTER_SHARED_SECRET: must be at least 32 characters/);
  });
});
