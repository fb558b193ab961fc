import { Ctx, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from '../graphql/context.js';
import { User, toUser } from './user.type.js';

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, {
    nullable: true,
    description: 'The signed-in user; null when the request carries no token, UNAUTHENTICATED when the token is bad.',
  })
  async me(@Ctx() ctx: GatewayContext): Promise<User | null> {
    const p = await ctx.principal();
    return p ? toUser(p.user, 'owner') : null;
  }
}
