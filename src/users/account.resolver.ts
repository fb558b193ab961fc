import { Ctx, Mutation, Resolver } from 'type-graphql';
import { requirePrincipal, type GatewayContext } from '../graphql/context.js';

@Resolver()
export class AccountResolver {
  @Mutation(() => Boolean, {
    description:
      "Deletes the caller's account at once: profile, the links of all its identities, and every session. Signing in again with any of them creates a new account.",
  })
  async deleteMyAccount(@Ctx() ctx: GatewayContext): Promise<boolean> {
    return ctx.services.accounts.deleteAccount((await requirePrincipal(ctx)).user.id);
  }
}
