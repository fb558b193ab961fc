import { DEFAULT_PUBLISH_AHEAD_MS, DEFAULT_ROTATION_INTERVAL_MS } from '../../sessions/signing-keys.js';
import { defineSection } from '../section.js';
import { duration } from '../variables.js';

/** Rotation schedule of the gateway's own signing keys (src/sessions/signing-keys.ts). */
export interface SigningKeysConfig {
  readonly signingKeys: {
    readonly rotationIntervalMs: number;
    /** How long a new key is published before it signs anything. */
    readonly publishAheadMs: number;
  };
}

export const signingKeys = defineSection({
  title: 'Signing keys',
  variables: {
    SIGNING_KEY_ROTATION_INTERVAL: duration('how often a new gateway signing key takes over', DEFAULT_ROTATION_INTERVAL_MS, {
      min: '1h',
      also: ['longer than `SIGNING_KEY_PUBLISH_AHEAD`'],
    }),
    // A successor key must outlive a cached JWKS (max-age 5 min) plus an instance's key reload (1 min).
    SIGNING_KEY_PUBLISH_AHEAD: duration('how long a new signing key is published before it signs anything', DEFAULT_PUBLISH_AHEAD_MS, {
      min: '10m',
      why: 'a cached JWKS must see a new key before it signs',
    }),
  },
  read(v, ctx): SigningKeysConfig {
    if (ctx.valid('SIGNING_KEY_ROTATION_INTERVAL') && ctx.valid('SIGNING_KEY_PUBLISH_AHEAD') && v.SIGNING_KEY_ROTATION_INTERVAL <= v.SIGNING_KEY_PUBLISH_AHEAD) {
      ctx.problem('SIGNING_KEY_ROTATION_INTERVAL', 'must be longer than SIGNING_KEY_PUBLISH_AHEAD');
    }
    return { signingKeys: { rotationIntervalMs: v.SIGNING_KEY_ROTATION_INTERVAL, publishAheadMs: v.SIGNING_KEY_PUBLISH_AHEAD } };
  },
});
