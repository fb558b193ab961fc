import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Apple's refresh tokens at rest: AES-256-GCM under APPLE_TOKEN_ENCRYPTION_KEY. Whoever reads
 * Redis (a backup, a replica, a stolen dump) gets no token: Apple's refresh token lets its
 * holder ask Apple about the person's authorization, and its only use here is to revoke it.
 *
 * The additional authenticated data binds a sealed token to its account, identity and client
 * id: a sealed value copied into another account's record does not open there, so no one who
 * can write Redis but not read the key can get another person's token revoked in their stead,
 * or move a token between identities unnoticed.
 *
 * Sealed form: `v1.<client id, base64url>.<iv>.<ciphertext>.<tag>` (base64url each). The
 * client id is in the clear (the revocation needs it as `client_id`) and authenticated.
 */
export interface TokenBinding {
  userId: string;
  provider: string;
  subject: string;
}

const VERSION = 'v1';

function aad(b: TokenBinding, clientId: string): Buffer {
  return Buffer.from(['apple-refresh-token', b.userId, b.provider, b.subject, clientId].join('\n'), 'utf8');
}

export function sealToken(key: Buffer, token: string, clientId: string, binding: TokenBinding): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(binding, clientId));
  const ct = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  const b64 = (b: Buffer) => b.toString('base64url');
  return [VERSION, b64(Buffer.from(clientId, 'utf8')), b64(iv), b64(ct), b64(cipher.getAuthTag())].join('.');
}

/** The token and its client id, or null when it does not open (another key, another binding, damaged). */
export function openToken(key: Buffer, sealed: string, binding: TokenBinding): { token: string; clientId: string } | null {
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) return null;
  try {
    const [clientId, iv, ct, tag] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer, Buffer];
    if (iv.length !== 12 || tag.length !== 16) return null;
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad(binding, clientId.toString('utf8')));
    decipher.setAuthTag(tag);
    const token = Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    return { token, clientId: clientId.toString('utf8') };
  } catch {
    return null;
  }
}
