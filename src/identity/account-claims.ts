import type { IdentityWrite, ProfileWrite } from '../store/types.js';
import type { VerifiedIdToken } from './provider.js';
import { providerNamed } from './providers/index.js';

/** The names an app sent with a sign-in (Apple gives them to the app once, never in the token). */
export interface ClientNames {
  givenName: string | null;
  familyName: string | null;
}

/** The identity a verified token names, and what it says about itself. */
export function identityOf(t: VerifiedIdToken): IdentityWrite {
  return { provider: t.provider, subject: t.sub, email: t.email, emailVerified: t.emailVerified, isPrivateEmail: t.isPrivateEmail, realUserStatus: t.realUserStatus };
}

/**
 * What a sign-in with this token writes to the account's profile: the fields its provider
 * reports (src/identity/provider.ts `profileFields`), and the names the app sent, if any (kept
 * only for an account with no name: src/store/types.ts ProfileWrite). Blank names are no names:
 * a stored name is never replaced by an empty one.
 */
export function profileWriteOf(t: VerifiedIdToken, names: ClientNames | null): ProfileWrite {
  const provider = providerNamed(t.provider);
  if (!provider) throw new TypeError(`unknown identity provider "${t.provider}"`);
  const set: ProfileWrite['set'] = {};
  for (const field of provider.profileFields(t)) Object.assign(set, { [field]: t[field] });
  const givenName = names?.givenName?.trim() || null;
  const familyName = names?.familyName?.trim() || null;
  const name = [givenName, familyName].filter((n) => n !== null).join(' ');
  return { set, names: name ? { name, givenName, familyName } : null };
}
