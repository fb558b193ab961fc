import { randomBytes } from 'node:crypto';

/** 128 random bits, base64url (22 chars): user ids, session ids, key ids. Unguessable, URL- and key-safe. */
export function randomId(): string {
  return randomBytes(16).toString('base64url');
}

const ID_RE = /^[A-Za-z0-9_-]{22}$/;
export function isRandomId(value: unknown): value is string {
  return typeof value === 'string' && ID_RE.test(value);
}
