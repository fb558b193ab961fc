import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { PROVIDERS } from '../identity/providers/index.js';
import type { IdentityRecord } from '../store/types.js';

/**
 * `enum IdentityProvider { GOOGLE APPLE }`: one value per provider the gateway knows
 * (src/identity/providers/index.ts), upper-cased; resolvers receive the provider's name.
 */
export const IdentityProvider: Record<string, string> = Object.freeze(Object.fromEntries(PROVIDERS.map((p) => [p.name.toUpperCase(), p.name])));
registerEnumType(IdentityProvider, {
  name: 'IdentityProvider',
  description: 'An identity provider: GOOGLE (Google Sign-In), APPLE (Sign in with Apple).',
});

@ObjectType({ description: 'One of the identities the account signs in with (at most one per provider).' })
export class Identity {
  @Field(() => IdentityProvider)
  provider!: string;

  @Field(() => String, {
    nullable: true,
    description: 'As the provider reported it at the last sign-in or link: with Apple, possibly a private relay address (`…@privaterelay.appleid.com`). Never used to link accounts.',
  })
  email!: string | null;

  @Field(() => Boolean, { description: 'The provider vouches for the address (never without one).' })
  emailVerified!: boolean;

  @Field(() => Boolean, { description: 'The address relays to the person’s own (Apple’s private relay); false for Google.' })
  isPrivateEmail!: boolean;

  @Field(() => Boolean, {
    description:
      'False once Apple said mail to this private relay address no longer reaches the person (they turned forwarding off: Apple’s email-disabled notification); true again after email-enabled. Always true for Google.',
  })
  emailForwarding!: boolean;

  @Field(() => Date, { description: 'When the identity joined the account: its creation, or `linkIdentity`.' })
  linkedAt!: Date;
}

export function toIdentity(r: IdentityRecord): Identity {
  return {
    provider: r.provider,
    email: r.email,
    emailVerified: r.emailVerified,
    isPrivateEmail: r.isPrivateEmail,
    emailForwarding: r.emailForwardingDisabled !== true,
    linkedAt: new Date(r.linkedAt),
  };
}
