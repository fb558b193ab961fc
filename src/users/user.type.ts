import { Directive, Field, ID, ObjectType, UseMiddleware } from 'type-graphql';
import type { UserRecord } from '../store/types.js';
import { PRIVATE, PrivateUserField, USER_ACCESS, type UserAccess } from './visibility.js';

/**
 * A Federation entity (`@key(fields: "id")`): other subgraphs reference users by id and the
 * router resolves them here through `_entities` (src/users/user.reference.ts). Fields marked
 * PrivateUserField follow the visibility rule in src/users/visibility.ts.
 */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'An account, created on the first sign-in with one of its identities (a Google or an Apple account).' })
export class User {
  [USER_ACCESS]?: UserAccess;

  @Field(() => ID)
  id!: string;

  @UseMiddleware(PrivateUserField)
  @Field(() => String, { nullable: true, description: `As the identity provider reported it at the last sign-in that reported one (see \`identities\` for each). Never used to link accounts. ${PRIVATE}` })
  email!: string | null;

  @UseMiddleware(PrivateUserField)
  @Field(() => Boolean, { description: PRIVATE })
  emailVerified!: boolean;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => String, { nullable: true })
  givenName!: string | null;

  @Field(() => String, { nullable: true })
  familyName!: string | null;

  @Field(() => String, { nullable: true })
  picture!: string | null;

  @UseMiddleware(PrivateUserField)
  @Field(() => String, { nullable: true, description: PRIVATE })
  locale!: string | null;

  @UseMiddleware(PrivateUserField)
  @Field(() => String, { nullable: true, description: `Google Workspace domain (\`hd\` claim), if any. ${PRIVATE}` })
  hostedDomain!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @UseMiddleware(PrivateUserField)
  @Field(() => Date, { description: PRIVATE })
  lastSignInAt!: Date;
}

/** `access` says how the caller reached this user: it decides who sees the private fields. */
export function toUser(r: UserRecord, access: UserAccess): User {
  return {
    [USER_ACCESS]: access,
    id: r.id,
    email: r.email,
    emailVerified: r.emailVerified,
    name: r.name,
    givenName: r.givenName,
    familyName: r.familyName,
    picture: r.picture,
    locale: r.locale,
    hostedDomain: r.hostedDomain,
    createdAt: new Date(r.createdAt),
    lastSignInAt: new Date(r.lastSignInAt),
  };
}
