import { Arg, Args, ArgsType, Ctx, Field, Mutation, Resolver } from 'type-graphql';
import { requirePrincipal, type GatewayContext } from '../graphql/context.js';
import { AuthPayload, toAuthPayload } from './auth-payload.type.js';

/** An ArgsType keeps the contract's argument order (parameter decorators apply last-first). */
@ArgsType()
class SignInWithGoogleArgs {
  @Field(() => String, { description: 'The ID token from Google Sign-In on the device.' })
  idToken!: string;

  @Field(() => String, {
    nullable: true,
    description: "When sent, the token's nonce must equal it or its SHA-256 hex digest. A nonce from `createSignInNonce` is consumed (single use).",
  })
  nonce?: string | null;
}

@Resolver()
export class SessionResolver {
  @Mutation(() => AuthPayload, {
    description: 'Verifies a Google ID token, creates the account on first use, and opens a session.',
  })
  async signInWithGoogle(@Args(() => SignInWithGoogleArgs) { idToken, nonce }: SignInWithGoogleArgs, @Ctx() ctx: GatewayContext): Promise<AuthPayload> {
    return ctx.services.metrics.observeSignIn(async () => {
      const result = await ctx.services.limits.signIn(
        ctx.meta.clientAddress,
        async () => {
          // Inside the limiter: a missing, unknown or reused nonce and a replayed token count as failures.
          ctx.services.signInGuards.checkNonce(nonce ?? null);
          const verified = await ctx.services.verifyIdToken(idToken, nonce ?? null);
          await ctx.services.signInGuards.afterVerification(idToken, nonce ?? null);
          return verified;
        },
        // Nothing is written until the per-account limit has admitted the sign-in.
        (profile, admitted) => ctx.services.sessions.signIn(profile, ctx.meta, admitted),
      );
      return toAuthPayload(result);
    });
  }

  @Mutation(() => AuthPayload, { description: 'Exchanges a refresh token for a new pair; the old refresh token is spent.' })
  async refreshSession(@Arg('refreshToken', () => String) refreshToken: string, @Ctx() ctx: GatewayContext): Promise<AuthPayload> {
    return ctx.services.metrics.observeRefresh(async () =>
      toAuthPayload(await ctx.services.limits.refresh(ctx.meta.clientAddress, refreshToken, () => ctx.services.sessions.refresh(refreshToken))),
    );
  }

  @Mutation(() => Boolean, { description: "Ends the caller's session; its tokens stop working at once." })
  async signOut(@Ctx() ctx: GatewayContext): Promise<boolean> {
    return ctx.services.sessions.signOut(await requirePrincipal(ctx));
  }
}
