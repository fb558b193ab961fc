import { Arg, Args, ArgsType, Ctx, Field, Mutation, Resolver } from 'type-graphql';
import { BadUserInputError } from '../errors.js';
import { checkAuthorizationCode } from '../identity/apple/exchange.js';
import { requirePrincipal, type GatewayContext } from '../graphql/context.js';
import { AuthPayload, toAuthPayload } from './auth-payload.type.js';

const NONCE_DESCRIPTION = "When sent, the token's nonce must equal it or its SHA-256 hex digest. A nonce from `createSignInNonce` is consumed (single use).";
/** Longest name kept from `signInWithApple` (characters); longer is BAD_USER_INPUT. */
export const MAX_CLIENT_NAME_LENGTH = 256;

/** An ArgsType keeps the contract's argument order (parameter decorators apply last-first). */
@ArgsType()
class SignInWithGoogleArgs {
  @Field(() => String, { description: 'The ID token from Google Sign-In on the device.' })
  idToken!: string;

  @Field(() => String, { nullable: true, description: NONCE_DESCRIPTION })
  nonce?: string | null;
}

@ArgsType()
class SignInWithAppleArgs {
  @Field(() => String, { description: 'The identity token from Sign in with Apple (`ASAuthorizationAppleIDCredential.identityToken`).' })
  identityToken!: string;

  @Field(() => String, { nullable: true, description: `${NONCE_DESCRIPTION} Apple's own guide hands Apple the SHA-256 hex and keeps the raw value: send the raw one.` })
  nonce?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The authorization code Apple gave the app with the token. With the developer account's key configured (APPLE_TEAM_ID…), exchanged in the background for Apple's refresh token, kept encrypted so that deleting the account (or unlinking Apple) revokes it; a failed exchange never fails the sign-in. Ignored otherwise.",
  })
  authorizationCode?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The name Apple gave the app (only on the first authorization): kept only while the account has no name, never replacing one.',
  })
  givenName?: string | null;

  @Field(() => String, { nullable: true, description: 'As `givenName`.' })
  familyName?: string | null;
}

@Resolver()
export class SessionResolver {
  @Mutation(() => AuthPayload, {
    description: 'Verifies a Google ID token, creates the account on first use, and opens a session.',
  })
  async signInWithGoogle(@Args(() => SignInWithGoogleArgs) { idToken, nonce }: SignInWithGoogleArgs, @Ctx() ctx: GatewayContext): Promise<AuthPayload> {
    return toAuthPayload(await ctx.services.signIn.signIn({ provider: 'google', idToken, nonce: nonce ?? null, names: null, meta: ctx.meta }));
  }

  @Mutation(() => AuthPayload, {
    description:
      'Verifies a Sign in with Apple identity token, creates the account on first use, and opens a session. PROVIDER_NOT_CONFIGURED when APPLE_CLIENT_IDS is unset.',
  })
  async signInWithApple(
    @Args(() => SignInWithAppleArgs) { identityToken, nonce, authorizationCode, givenName, familyName }: SignInWithAppleArgs,
    @Ctx() ctx: GatewayContext,
  ): Promise<AuthPayload> {
    for (const [name, value] of [['givenName', givenName], ['familyName', familyName]] as const) {
      if (typeof value === 'string' && value.length > MAX_CLIENT_NAME_LENGTH) throw new BadUserInputError(`${name} is longer than ${MAX_CLIENT_NAME_LENGTH} characters.`);
    }
    checkAuthorizationCode(authorizationCode);
    const names = { givenName: givenName ?? null, familyName: familyName ?? null };
    return toAuthPayload(
      await ctx.services.signIn.signIn({ provider: 'apple', idToken: identityToken, nonce: nonce ?? null, names, authorizationCode: authorizationCode ?? null, meta: ctx.meta }),
    );
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
