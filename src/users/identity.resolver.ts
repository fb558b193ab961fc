import { Arg, Args, ArgsType, Ctx, Field, FieldResolver, Mutation, Resolver, Root, UseMiddleware } from 'type-graphql';
import { requirePrincipal, type GatewayContext } from '../graphql/context.js';
import { checkAuthorizationCode } from '../identity/apple/exchange.js';
import { Identity, IdentityProvider, toIdentity } from './identity.type.js';
import { User, toUser } from './user.type.js';
import { PRIVATE, PrivateUserField } from './visibility.js';

@ArgsType()
class LinkIdentityArgs {
  @Field(() => IdentityProvider)
  provider!: string;

  @Field(() => String, { description: 'An ID token of that provider (Google: the ID token; Apple: the identity token), verified as for a sign-in.' })
  idToken!: string;

  @Field(() => String, { nullable: true, description: 'As for a sign-in: the token’s nonce must match; a nonce from `createSignInNonce` is consumed.' })
  nonce?: string | null;

  @Field(() => String, { nullable: true, description: 'Apple only: the authorization code that came with the identity token, as `signInWithApple`’s.' })
  authorizationCode?: string | null;
}

/** `User.identities`, `linkIdentity`, `unlinkIdentity` (src/users/identity-service.ts). */
@Resolver(() => User)
export class IdentityResolver {
  @FieldResolver(() => [Identity], { description: `The identities the account signs in with, oldest first. ${PRIVATE}` })
  @UseMiddleware(PrivateUserField)
  async identities(@Root() user: User, @Ctx() ctx: GatewayContext): Promise<Identity[]> {
    return (await ctx.services.identities.list(user.id)).map(toIdentity);
  }

  @Mutation(() => User, {
    description:
      "Adds an identity to the caller's account: it signs in to this account from then on. IDENTITY_ALREADY_LINKED when it is another account's, PROVIDER_ALREADY_LINKED when the account has another identity of that provider; nothing changes then.",
  })
  async linkIdentity(@Args(() => LinkIdentityArgs) { provider, idToken, nonce, authorizationCode }: LinkIdentityArgs, @Ctx() ctx: GatewayContext): Promise<User> {
    checkAuthorizationCode(authorizationCode);
    const { user } = await requirePrincipal(ctx);
    // A code goes with Apple's tokens only; another provider's is ignored.
    const code = provider === 'apple' ? (authorizationCode ?? null) : null;
    return toUser(await ctx.services.identities.link(user.id, { provider, idToken, nonce: nonce ?? null, authorizationCode: code, meta: ctx.meta }), 'owner');
  }

  @Mutation(() => User, {
    description: "Removes the caller's identity of this provider (none: nothing changes). LAST_IDENTITY for the account's last identity.",
  })
  async unlinkIdentity(@Arg('provider', () => IdentityProvider) provider: string, @Ctx() ctx: GatewayContext): Promise<User> {
    const { user } = await requirePrincipal(ctx);
    return toUser(await ctx.services.identities.unlink(user.id, provider), 'owner');
  }
}
