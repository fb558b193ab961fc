import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { requirePrincipal, type GatewayContext } from '../graphql/context.js';
import { Session, toSession } from './session.type.js';
import { SignInNonce } from './sign-in-nonce.type.js';

/** Listing and ending the caller's sessions, and server-issued sign-in nonces. */
@Resolver()
export class SessionManagementResolver {
  @Query(() => [Session], { description: "The caller's live sessions, newest first." })
  async mySessions(@Ctx() ctx: GatewayContext): Promise<Session[]> {
    const p = await requirePrincipal(ctx);
    return (await ctx.services.sessions.listSessions(p)).map((s) => toSession(s, p.session.id));
  }

  @Mutation(() => SignInNonce, { description: 'Issues a single-use nonce for the next sign-in; no session needed.' })
  async createSignInNonce(@Ctx() ctx: GatewayContext): Promise<SignInNonce> {
    await ctx.services.rateLimits.checkNonceRequest(ctx.meta.clientAddress);
    const { nonce, expiresAt } = await ctx.services.nonces.create();
    return { nonce, expiresAt: new Date(expiresAt) };
  }

  @Mutation(() => Boolean, {
    description: "Ends one of the caller's sessions. False for an unknown id or one that is not the caller's.",
  })
  async revokeSession(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<boolean> {
    return ctx.services.sessions.revokeSession(await requirePrincipal(ctx), id);
  }

  @Mutation(() => Int, { description: 'Ends every session of the caller except the current one; returns how many ended.' })
  async signOutOtherSessions(@Ctx() ctx: GatewayContext): Promise<number> {
    return ctx.services.sessions.signOutOtherSessions(await requirePrincipal(ctx));
  }

  @Mutation(() => Int, { description: 'Ends every session of the caller, the current one included; returns how many ended.' })
  async signOutEverywhere(@Ctx() ctx: GatewayContext): Promise<number> {
    return ctx.services.sessions.signOutEverywhere(await requirePrincipal(ctx));
  }
}
