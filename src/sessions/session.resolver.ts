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
    return toAuthPayload(await ctx.services.signIn.signIn({ idToken, nonce: nonce ?? null, meta: ctx.meta }));
  }

  @Mutation(() => AuthPayload, { description: 'Exchanges a refresh token for a new pair; the old refresh token is spent.' })
  async refreshSession(@Arg('refreshToken', () => String) refreshToken: string, @Ctx() ctx: GatewayContext): Promise<AuthPayload> {
    return toAuthPayload(await ctx.services.refresh.refresh({ refreshToken, meta: ctx.meta }));
  }

  @Mutation(() => Boolean, { description: "Ends the caller's session; its tokens stop working at once." })
  async signOut(@Ctx() ctx: GatewayContext): Promise<boolean> {
    return ctx.services.sessions.signOut(await requirePrincipal(ctx));
  }
}
