import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { JWK } from 'jose';
import { b64json, type FakeGoogle } from './fake-google.js';

/**
 * fast-check arbitraries for hostile ID tokens (Google- and Apple-shaped), shared by the
 * verifier's property tests (test/identity/verifier.fuzz.test.ts) and the HTTP ones
 * (test/e2e/hostile.test.ts).
 *
 * Arbitraries are synchronous and signing is not, so the signed families are *recipes*
 * (plain data, which fast-check can print and shrink) turned into tokens by `build*`.
 */

/** The closed list of UNAUTHENTICATED reasons an ID token can get (README, src/errors.ts). */
export const ID_TOKEN_REASONS: readonly string[] = [
  'too_large',
  'malformed',
  'unsupported_algorithm',
  'unknown_key',
  'bad_signature',
  'wrong_issuer',
  'wrong_audience',
  'untrusted_audience',
  'expired',
  'issued_in_future',
  'lifetime_too_long',
  'missing_claim',
  'hosted_domain_not_allowed',
  'nonce_mismatch',
];

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64 = (data: string | Uint8Array) => Buffer.from(data).toString('base64url');
const segment = (maxLength: number) => fc.array(fc.constantFrom(...B64URL), { maxLength }).map((cs) => cs.join(''));

/** Unsigned junk: random text, JWT-shaped base64url, and JWT-shaped JSON with random headers. */
export const randomToken: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ maxLength: 40 }),
  fc.tuple(segment(120), segment(400), segment(400)).map((s) => s.join('.')),
  fc.array(segment(60), { minLength: 0, maxLength: 7 }).map((s) => s.join('.')),
  fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 300 })).map(([h, p, s]) => `${b64json(h)}.${b64json(p)}.${b64(s)}`),
  fc
    .tuple(
      fc.record({ alg: fc.constantFrom('RS256', 'none', 'None', 'HS256', 'ES256', 'PS256', 'RS512', ''), kid: fc.string({ maxLength: 20 }), typ: fc.constant('JWT') }, { requiredKeys: [] }),
      fc.dictionary(fc.constantFrom('iss', 'aud', 'sub', 'exp', 'iat', 'email', 'nonce'), fc.jsonValue({ maxDepth: 1 })),
      fc.oneof(fc.constant(''), fc.uint8Array({ minLength: 1, maxLength: 300 }).map(b64)),
    )
    .map(([h, p, s]) => `${b64json(h)}.${b64json(p)}.${s}`),
);

/** A change to a genuine token's text; `at` is reduced modulo the length. */
export type Mutation =
  | { op: 'replace'; at: number; ch: string }
  | { op: 'delete'; at: number }
  | { op: 'insert'; at: number; ch: string }
  | { op: 'truncate'; at: number }
  | { op: 'flipBit'; seg: number; at: number; bit: number }
  | { op: 'swapSegments'; i: number; j: number }
  | { op: 'dropSegment'; i: number }
  | { op: 'duplicateSegment'; i: number }
  | { op: 'addSegment'; text: string }
  | { op: 'flipCase'; at: number }
  | { op: 'pad'; text: string; end: boolean }
  | { op: 'graft'; from: number; seg: number };

const anyChar = fc.oneof(fc.constantFrom(...B64URL), fc.constantFrom('.', '=', '+', '/', ' ', '\n', '\u0000', 'é', '\u{1F600}', '"', '\\'));

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), ch: anyChar }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), ch: anyChar }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('flipBit' as const), seg: fc.integer({ min: 0, max: 2 }), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('swapSegments' as const), i: fc.integer({ min: 0, max: 2 }), j: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('dropSegment' as const), i: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('duplicateSegment' as const), i: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('addSegment' as const), text: segment(40) }),
  fc.record({ op: fc.constant('flipCase' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('pad' as const), text: fc.constantFrom('=', '==', ' ', '\n', '\t', '.', '\u0000'), end: fc.boolean() }),
  fc.record({ op: fc.constant('graft' as const), from: fc.nat(), seg: fc.integer({ min: 0, max: 2 }) }),
);

/** Applies the mutations in order; `others` are genuine tokens to graft segments from. */
export function applyMutations(token: string, mutations: readonly Mutation[], others: readonly string[]): string {
  let t = token;
  for (const m of mutations) t = applyOne(t, m, others);
  return t;
}

function applyOne(t: string, m: Mutation, others: readonly string[]): string {
  const pos = (at: number, len = t.length) => (len === 0 ? 0 : at % len);
  const segs = t.split('.');
  switch (m.op) {
    case 'replace':
      return t.length === 0 ? m.ch : t.slice(0, pos(m.at)) + m.ch + t.slice(pos(m.at) + 1);
    case 'delete':
      return t.slice(0, pos(m.at)) + t.slice(pos(m.at) + 1);
    case 'insert':
      return t.slice(0, pos(m.at, t.length + 1)) + m.ch + t.slice(pos(m.at, t.length + 1));
    case 'truncate':
      return t.slice(0, pos(m.at));
    case 'flipBit': {
      const s = segs[m.seg];
      if (s === undefined) return t;
      const bytes = Buffer.from(s, 'base64url');
      if (bytes.length === 0) return t;
      bytes[pos(m.at, bytes.length)]! ^= 1 << m.bit;
      segs[m.seg] = bytes.toString('base64url');
      return segs.join('.');
    }
    case 'swapSegments': {
      if (segs[m.i] === undefined || segs[m.j] === undefined) return t;
      [segs[m.i], segs[m.j]] = [segs[m.j]!, segs[m.i]!];
      return segs.join('.');
    }
    case 'dropSegment':
      segs.splice(m.i, 1);
      return segs.join('.');
    case 'duplicateSegment':
      if (segs[m.i] === undefined) return t;
      segs.splice(m.i, 0, segs[m.i]!);
      return segs.join('.');
    case 'addSegment':
      return `${t}.${m.text}`;
    case 'flipCase': {
      const i = pos(m.at);
      const c = t.charAt(i);
      const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return t.slice(0, i) + flipped + t.slice(i + 1);
    }
    case 'pad':
      return m.end ? t + m.text : m.text + t;
    case 'graft': {
      const donor = others.length === 0 ? undefined : others[m.from % others.length]!.split('.')[m.seg];
      if (donor === undefined || segs[m.seg] === undefined) return t;
      segs[m.seg] = donor;
      return segs.join('.');
    }
  }
}

/** Segments identical except for the signature's encoding (non-canonical trailing bits decode to the same bytes). */
export function sameSignedToken(a: string, b: string): boolean {
  const [ha, pa, sa] = a.split('.');
  const [hb, pb, sb, ...rest] = b.split('.');
  return rest.length === 0 && ha === hb && pa === pb && sa !== undefined && sb !== undefined && /^[A-Za-z0-9_-]*$/.test(sb) && Buffer.from(sa, 'base64url').equals(Buffer.from(sb, 'base64url'));
}

// --- Signed recipes -----------------------------------------------------------------------

/** Stand-ins resolved when a recipe is built (the values exist only at run time). */
export const CURRENT_KID = '<current kid>';
export const CLIENT_ID = '<client id>';
/** `{ [REL]: s }` in a claim means "now + s seconds". */
export const REL = '__rel';

const oddValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -1, 1e308, 2 ** 53 + 2, 0.5),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' ', 'x'.repeat(1500), 'true', 'false', 'null', '0', '1e400', '\u0000'),
  fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(CLIENT_ID), fc.constant(null)), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
  fc.constant(CLIENT_ID),
  fc.constantFrom('accounts.google.com', 'https://accounts.google.com', 'https://accounts.google.com/', 'http://accounts.google.com', 'ACCOUNTS.GOOGLE.COM'),
  fc.constantFrom('https://appleid.apple.com', 'https://appleid.apple.com/', 'appleid.apple.com', 'true', 'false'),
  fc.record({ [REL]: fc.integer({ min: -200_000, max: 200_000 }) }),
  fc.record({ [REL]: fc.integer({ min: -120, max: 120 }) }),
);

/** Claims whose value decides acceptance for every provider (with no hosted-domain allow-list configured). */
const COMMON_IDENTITY_CLAIMS = ['iss', 'aud', 'azp', 'sub', 'exp', 'iat', 'nbf', 'nonce'] as const;

/** What differs between the providers' tokens, for the recipes and the soundness checks. */
export interface TokenShape {
  provider: 'google' | 'apple';
  issuers: readonly string[];
  /** Claims whose value decides acceptance. */
  identityClaims: readonly string[];
  /** Informational claims: an odd type must be read as absent, never refuse the token. */
  profileClaims: readonly string[];
  edge: Record<string, fc.Arbitrary<unknown>>;
}

const appleBooleanEdge = fc.constantFrom(true, false, 'true', 'false', 'TRUE', 'True', 'yes', '1', 1, 0, null, '', ['true'], {});

/** Values near the edge of the policy for each identity claim (valid ones included). */
const commonEdge = (issuers: readonly string[]): Record<(typeof COMMON_IDENTITY_CLAIMS)[number], fc.Arbitrary<unknown>> => ({
  iss: fc.constantFrom(...issuers, `${issuers.at(-1)}/`, `${issuers.at(-1)}.evil.example`, 'https://evil.example', ''),
  aud: fc.constantFrom(CLIENT_ID, [CLIENT_ID], [CLIENT_ID, CLIENT_ID], [CLIENT_ID, 'other.apps.googleusercontent.com'], ['other'], [], 'other', `${CLIENT_ID} `),
  azp: fc.constantFrom(CLIENT_ID, 'other.apps.googleusercontent.com', ''),
  sub: fc.constantFrom('1', 'x'.repeat(255), 'x'.repeat(256), '', ' ', '0'),
  exp: fc.record({ [REL]: fc.integer({ min: -120, max: 90_000 }) }),
  iat: fc.record({ [REL]: fc.integer({ min: -90_000, max: 120 }) }),
  nbf: fc.record({ [REL]: fc.integer({ min: -120, max: 120 }) }),
  nonce: fc.constantFrom('token-nonce-0123', '', 'other'),
});

export const GOOGLE_SHAPE: TokenShape = {
  provider: 'google',
  issuers: ['accounts.google.com', 'https://accounts.google.com'],
  identityClaims: COMMON_IDENTITY_CLAIMS,
  profileClaims: ['email', 'email_verified', 'name', 'given_name', 'family_name', 'picture', 'locale', 'hd', 'x_junk'],
  edge: commonEdge(['accounts.google.com', 'https://accounts.google.com']),
};

/** Apple's booleans decide too: "true"/"false" or booleans, anything else is refused (malformed). */
export const APPLE_SHAPE: TokenShape = {
  provider: 'apple',
  issuers: ['https://appleid.apple.com'],
  identityClaims: [...COMMON_IDENTITY_CLAIMS, 'email_verified', 'is_private_email'],
  profileClaims: ['email', 'real_user_status', 'nonce_supported', 'auth_time', 'name', 'x_junk'],
  edge: { ...commonEdge(['https://appleid.apple.com']), email_verified: appleBooleanEdge, is_private_email: appleBooleanEdge },
};

/** Google's shape, as the tests written before Apple use it. */
export const IDENTITY_CLAIMS = GOOGLE_SHAPE.identityClaims;
export const PROFILE_CLAIMS = GOOGLE_SHAPE.profileClaims;

export interface ClaimsRecipe {
  /** Claim → new value, or `undefined` to delete it. */
  overrides: Record<string, unknown>;
  /** A non-object payload instead (raw JSON text), when set. */
  rawPayload: string | null;
  /** The nonce the client sends: a string, or 'match' / 'match-sha' (of the token's nonce), or null. */
  clientNonce: string | null;
}

const override = (claims: readonly string[], value: (claim: string) => fc.Arbitrary<unknown>) =>
  fc.oneof(...claims.map((c) => fc.tuple(fc.constant(c), fc.option(value(c), { nil: undefined, freq: 6 }))));

/** Claims recipes for a provider's tokens. */
export const claimsRecipeFor = (shape: TokenShape): fc.Arbitrary<ClaimsRecipe> => fc.record({
  overrides: fc
    .array(
      fc.oneof(
        override(shape.identityClaims, (c) => shape.edge[c]!).map((p) => [p]),
        override([...shape.identityClaims, ...shape.profileClaims], () => oddValue).map((p) => [p]),
        // Claims that only matter together: several audiences and the authorized party.
        fc.tuple(fc.tuple(fc.constant('aud'), shape.edge.aud!), fc.tuple(fc.constant('azp'), shape.edge.azp!)),
        // A lifetime rather than two unrelated times.
        fc
          .tuple(fc.integer({ min: -90_000, max: 120 }), fc.integer({ min: -10, max: 100_000 }))
          .map(([iat, lifetime]) => [
            ['iat', { [REL]: iat }],
            ['exp', { [REL]: iat + lifetime }],
          ]),
      ),
      { maxLength: 4 },
    )
    .map((groups) => Object.fromEntries(groups.flat() as [string, unknown][])),
  rawPayload: fc.oneof(
    { weight: 12, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom('[]', '"a string"', '123', 'null', 'true', '{"exp":1e400,"iat":1,"sub":"s"}', '{', '') },
  ),
  clientNonce: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom('match', 'match-sha'), fc.string({ maxLength: 20 })) },
  ),
});

export const claimsRecipe: fc.Arbitrary<ClaimsRecipe> = claimsRecipeFor(GOOGLE_SHAPE);

/** Present in one case out of `1 + absentWeight`; absent (undefined, dropped from the header) otherwise. */
const sometimes = <T>(arb: fc.Arbitrary<T>, absentWeight = 3) => fc.oneof({ weight: absentWeight, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

export interface HeaderRecipe {
  header: Record<string, unknown>;
  /** Signed by the published key, or by a rogue one (whose JWK may be embedded in the header). */
  signer: 'current' | 'rogue';
  embedRogueJwk: boolean;
}

export const headerRecipe: fc.Arbitrary<HeaderRecipe> = fc.record({
  header: fc.record(
    {
      alg: fc.oneof(
        { weight: 4, arbitrary: fc.constant('RS256') },
        { weight: 3, arbitrary: fc.constantFrom('none', 'HS256', 'RS384', 'RS512', 'PS256', 'ES256', 'EdDSA', 'rs256', 'RS256 ', '', 'dir') },
        { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null), fc.constant(['RS256']), fc.constant({ alg: 'RS256' })) },
      ),
      kid: fc.oneof(
        { weight: 4, arbitrary: fc.constant(CURRENT_KID) },
        { weight: 2, arbitrary: fc.oneof(fc.string({ maxLength: 30 }), fc.constant(''), fc.constant('k'.repeat(300))) },
        { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant([CURRENT_KID]), fc.constant({ kid: CURRENT_KID })) },
      ),
      typ: sometimes(fc.oneof(fc.constantFrom('JWT', 'at+jwt', 'JWS', ''), fc.integer()), 1),
      crit: sometimes(fc.oneof(fc.constant(['exp']), fc.constant(['b64']), fc.constant([]), fc.constant('b64'), fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }))),
      b64: sometimes(fc.oneof(fc.boolean(), fc.constant('false'))),
      jku: sometimes(fc.constantFrom('https://attacker.example/jwks.json', 'http://127.0.0.1:1/certs')),
      x5u: sometimes(fc.constant('https://attacker.example/cert.pem')),
      x_extra: sometimes(fc.jsonValue({ maxDepth: 2 })),
    },
  ),
  signer: fc.constantFrom('current' as const, 'current' as const, 'current' as const, 'rogue' as const),
  embedRogueJwk: fc.boolean(),
});

/** Resolves the stand-ins in a value (recursively). */
export function resolve(value: unknown, ctx: { kid: string; clientId: string; nowS: number }): unknown {
  if (value === CURRENT_KID) return ctx.kid;
  if (value === CLIENT_ID) return ctx.clientId;
  if (Array.isArray(value)) return value.map((v) => resolve(v, ctx));
  if (value !== null && typeof value === 'object') {
    const rec = value as Record<string, unknown>;
    if (Object.keys(rec).length === 1 && typeof rec[REL] === 'number') return ctx.nowS + rec[REL];
    return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, resolve(v, ctx)]));
  }
  return value;
}

/** The token a claims recipe describes (signed by the published key), the claims it carries and the nonce the client sends. */
export async function buildClaimsToken(
  google: FakeGoogle,
  recipe: ClaimsRecipe,
  nowS: number,
): Promise<{ token: string; claims: Record<string, unknown> | null; nonce: string | null }> {
  const ctx = { kid: google.current.kid, clientId: google.clientId, nowS };
  if (recipe.rawPayload !== null) return { token: await google.signRaw({ alg: 'RS256', kid: ctx.kid, typ: 'JWT' }, recipe.rawPayload), claims: null, nonce: null };
  const claims: Record<string, unknown> = { ...google.claims(nowS), nonce: 'token-nonce-0123' };
  for (const [k, v] of Object.entries(recipe.overrides)) {
    if (v === undefined) delete claims[k];
    else claims[k] = resolve(v, ctx);
  }
  let nonce = recipe.clientNonce;
  if (nonce === 'match') nonce = typeof claims.nonce === 'string' ? claims.nonce : 'absent';
  if (nonce === 'match-sha') {
    // Some SDKs hand Google the SHA-256 of the nonce and keep the raw value.
    nonce = 'client-raw-nonce';
    if (!('nonce' in recipe.overrides)) claims.nonce = createHash('sha256').update(nonce).digest('hex');
  }
  return { token: await google.signRaw({ alg: 'RS256', kid: ctx.kid, typ: 'JWT' }, JSON.stringify(claims)), claims, nonce };
}

/** The token a header recipe describes, over genuine claims. */
export async function buildHeaderToken(google: FakeGoogle, recipe: HeaderRecipe, rogue: { key: Awaited<ReturnType<FakeGoogle['newKey']>> }, nowS: number): Promise<{ token: string; header: Record<string, unknown> }> {
  const present = Object.entries(recipe.header).filter(([, v]) => v !== undefined);
  const header = resolve(Object.fromEntries(present), { kid: google.current.kid, clientId: google.clientId, nowS }) as Record<string, unknown>;
  if (recipe.embedRogueJwk) header.jwk = rogue.key.publicJwk as JWK;
  const signer = recipe.signer === 'current' ? google.current : rogue.key;
  return { token: await google.signRaw(header, JSON.stringify(google.claims(nowS)), signer), header };
}
