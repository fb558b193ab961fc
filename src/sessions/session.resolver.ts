import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { requirePrincipal, type GatewayContext } from '../graphql/context.js';
import { AuthPayload, toAuthPayload } from './auth-payload.type.js';

@Resolver()
export class SessionResolver {
  @Mutation(() => AuthPayload, {
    description: 'Verifies a Google ID token, creates the account on first use, and opens a session.',
  })
  async signInWithGoogle(
    @Arg('idToken', () => String) idToken: string,
    @Arg('nonce', () => String, { nullable: true }) nonce: string | null | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<AuthPayload> {
    const profile = await ctx.services.verifyIdToken(idToken, nonce ?? null);
    return toAuthPayload(await ctx.services.sessions.signIn(profile, ctx.meta));
  }

  @Mutation(() => AuthPayload, { description: 'Exchanges a refresh token for a new pair; the old refresh token is spent.' })
  async refreshSession(@Arg('refreshToken', () => String) refreshToken: string, @Ctx() ctx: GatewayContext): Promise<AuthPayload> {
    return toAuthPayload(await ctx.services.sessions.refresh(refreshToken));
  }

  @Mutation(() => Boolean, { description: "Ends the caller's session; its tokens stop working at once." })
  async signOut(@Ctx() ctx: GatewayContext): Promise<boolean> {
    return ctx.services.sessions.signOut(await requirePrincipal(ctx));
  }
}
