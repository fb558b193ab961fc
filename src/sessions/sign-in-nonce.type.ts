import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A single-use nonce for the next sign-in (`signInWithGoogle`, `signInWithApple`) or `linkIdentity`.' })
export class SignInNonce {
  @Field(() => String, {
    description: 'Give it to Google Sign-In or Sign in with Apple (as it is, or its SHA-256 hex), then send it as the `nonce` of the sign-in or link.',
  })
  nonce!: string;

  @Field(() => Date, { description: 'After this the nonce is refused (10 minutes after it was issued).' })
  expiresAt!: Date;
}
