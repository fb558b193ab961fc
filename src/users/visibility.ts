import type { MiddlewareFn } from 'type-graphql';
import { ForbiddenError } from '../errors.js';
import type { GatewayContext } from '../graphql/context.js';

/** How the schema describes a private field. */
export const PRIVATE = 'Private: reached through `_entities`, only the user themself or a trusted router may read it (FORBIDDEN otherwise).';

/**
 * Who may read a user's private fields (email, emailVerified, locale, hostedDomain,
 * lastSignInAt, identities). The rule depends on how the User object was reached:
 *
 * - `owner`: `me` and `AuthPayload.user` only ever return the caller's own account.
 * - `reference`: a User the router asked for by id through `_entities` (another subgraph
 *   referenced it). Its private fields go to the user themself (the request carries that
 *   user's access token, which the router forwards) or to a trusted router (the request
 *   carries ROUTER_SHARED_SECRET); anyone else gets FORBIDDEN on those fields. Public fields
 *   (id, names, picture, createdAt) are readable by every caller.
 *
 * A User object without a mark is treated as the most restricted kind: new code that forgets
 * to mark fails closed.
 */
export type UserAccess = 'owner' | 'reference';

export const USER_ACCESS: unique symbol = Symbol('userAccess');

export interface AccessMarked {
  id: string;
  [USER_ACCESS]?: UserAccess;
}

/** type-graphql middleware for the private fields of `User`. */
export const PrivateUserField: MiddlewareFn<GatewayContext> = async ({ root, context, info }, next) => {
  if (await mayReadPrivateFields(root as AccessMarked, context)) return next();
  throw new ForbiddenError(`User.${info.fieldName} is visible only to the user themself.`);
};

async function mayReadPrivateFields(user: AccessMarked, ctx: GatewayContext): Promise<boolean> {
  switch (user[USER_ACCESS]) {
    case 'owner':
      return true;
    case 'reference': {
      if (ctx.fromTrustedRouter) return true;
      // Memoised per request: N private fields of N users cost one session check. A bad or
      // revoked token rejects here with UNAUTHENTICATED, which tells the client what to fix.
      const caller = await ctx.principal();
      return caller !== null && caller.user.id === user.id;
    }
    default:
      return false;
  }
}
