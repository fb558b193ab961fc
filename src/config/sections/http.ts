import { defineSection } from '../section.js';
import { parseTrustProxy, type TrustProxy } from '../trust-proxy.js';
import { parsed } from '../variables.js';

export interface HttpConfig {
  /** Fastify's `trustProxy` (src/config/trust-proxy.ts): who may set the client address via X-Forwarded-For. */
  readonly trustProxy: TrustProxy;
}

export const http = defineSection({
  title: 'HTTP',
  variables: {
    TRUST_PROXY: parsed(
      'whether `X-Forwarded-For` is believed, i.e. what the client address is (recorded with each session; per-address rate limits count it): unset = never (the TCP peer is the client); `loopback`, or a comma-separated list of proxy addresses and CIDRs (`10.0.0.0/8, 2001:db8::/32`; also `linklocal`, `uniquelocal`); or a hop count (`1`: the peer is a proxy and the last header entry is the client). Use a hop count only when nothing but those proxies can reach the gateway. `true` is refused: anyone could pick their address',
      parseTrustProxy,
      '',
      { accepts: 'unset or `false`, a hop count 1–32, or a comma-separated list of `loopback`, `linklocal`, `uniquelocal`, addresses and CIDRs', shownDefault: 'unset' },
    ),
  },
  read: (v): HttpConfig => ({ trustProxy: v.TRUST_PROXY }),
});
