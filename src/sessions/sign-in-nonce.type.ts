import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A single-use nonce for the next `signInWithGoogle`.' })
export class SignInNonce {
  @Field(() => String, {
    description: 'Give it to Google Sign-In (as it is, or its SHA-256 hex), then send it as `signInWithGoogle(nonce:)`.',
  })
  nonce!: string;

  @Field(() => Date, { description: 'After this the nonce is refused (10 minutes after it was issued).' })
  expiresAt!: Date;
}
