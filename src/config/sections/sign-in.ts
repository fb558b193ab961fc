import { defineSection } from '../section.js';
import { flag } from '../variables.js';

export interface SignInConfig {
  readonly signIn: {
    /** Every sign-in must present a nonce from `createSignInNonce`. */
    readonly requireNonce: boolean;
    /** An ID token signs in once; a second sign-in with it is refused (`replayed`). */
    readonly rejectReplayedIdTokens: boolean;
  };
}

export const signIn = defineSection({
  title: 'Sign-in policy',
  variables: {
    REQUIRE_SIGN_IN_NONCE: flag('every sign-in must present a nonce from `createSignInNonce` (otherwise client nonces work as before)', false),
    REJECT_REPLAYED_ID_TOKENS: flag('an ID token signs in once; a second sign-in with it is refused (`replayed`)', false),
  },
  read: (v): SignInConfig => ({ signIn: { requireNonce: v.REQUIRE_SIGN_IN_NONCE, rejectReplayedIdTokens: v.REJECT_REPLAYED_ID_TOKENS } }),
});
