import { describe, expect, it } from '@jest/globals';
import { randomId } from '../../src/sessions/ids.js';
import {
  hashRefreshToken,
  issueRefreshToken,
  openGraceBox,
  parseRefreshToken,
  sealForGrace,
} from '../../src/sessions/refresh-token.js';

describe('refresh tokens', () => {
  it('carry the session ids and 256 random bits, and are stored only as a hash', () => {
    const uid = randomId();
    const sid = randomId();
    const a = issueRefreshToken(uid, sid);
    const b = issueRefreshToken(uid, sid);
    expect(a.token).not.toBe(b.token);
    expect(parseRefreshToken(a.token)).toEqual({ userId: uid, sessionId: sid });
    const secret = a.token.split('.')[2]!;
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(a.hash).toBe(hashRefreshToken(a.token));
    expect(a.hash).not.toContain(secret);
  });

  it.each([
    ['empty', ''],
    ['two parts', 'a.b'],
    ['short ids', 'abc.def.ghi'],
    ['bad secret length', `${randomId()}.${randomId()}.short`],
    ['four parts', `${randomId()}.${randomId()}.${'A'.repeat(43)}.x`],
    ['oversized', 'A'.repeat(10_000)],
    ['non-base64url', `${randomId()}.${randomId()}.${'!'.repeat(43)}`],
  ])('rejects a token that is %s', (_name, token) => {
    expect(parseRefreshToken(token)).toBeNull();
  });

  it('seals the successor so that only the holder of the spent token can open it', () => {
    const spent = issueRefreshToken(randomId(), randomId()).token;
    const next = issueRefreshToken(randomId(), randomId()).token;
    const box = sealForGrace(next, spent);
    expect(box).not.toContain(next);
    expect(openGraceBox(box, spent)).toBe(next);
    expect(openGraceBox(box, issueRefreshToken(randomId(), randomId()).token)).toBeNull();
    const tampered = Buffer.from(box, 'base64url');
    tampered[20] = tampered[20]! ^ 1;
    expect(openGraceBox(tampered.toString('base64url'), spent)).toBeNull();
    expect(openGraceBox('garbage', spent)).toBeNull();
  });
});
