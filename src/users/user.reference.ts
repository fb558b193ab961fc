import { BadUserInputError } from '../errors.js';
import type { GatewayContext } from '../graphql/context.js';
import { isRandomId } from '../sessions/ids.js';
import { User, toUser } from './user.type.js';

/**
 * `User.__resolveReference`: the router sends `{ __typename: "User", id }` for every user
 * another subgraph referenced. All references of one request go through the request's batch
 * loader, so N users cost one store read (one Redis round trip), not N.
 *
 * An id that is not one of ours cannot exist, so it resolves to null without a lookup (and
 * never reaches the Redis key layout). A disabled or unknown account resolves to null too.
 */
export async function resolveUserReference(reference: { id?: unknown }, ctx: GatewayContext): Promise<User | null> {
  const { id } = reference;
  if (typeof id !== 'string') throw new BadUserInputError('A User representation needs an `id` string.');
  if (!isRandomId(id)) return null;
  const record = await ctx.users.load(id);
  return record && !record.disabled ? toUser(record, 'reference') : null;
}
