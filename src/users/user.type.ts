import { Field, ID, ObjectType } from 'type-graphql';
import type { UserRecord } from '../store/types.js';

@ObjectType({ description: 'An account, created on the first sign-in with a Google account.' })
export class User {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'As Google reported it at the last sign-in. Never used to link accounts.' })
  email!: string | null;

  @Field(() => Boolean)
  emailVerified!: boolean;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => String, { nullable: true })
  givenName!: string | null;

  @Field(() => String, { nullable: true })
  familyName!: string | null;

  @Field(() => String, { nullable: true })
  picture!: string | null;

  @Field(() => String, { nullable: true })
  locale!: string | null;

  @Field(() => String, { nullable: true, description: 'Google Workspace domain (`hd` claim), if any.' })
  hostedDomain!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  lastSignInAt!: Date;
}

export function toUser(r: UserRecord): User {
  return {
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
