import { Field, ObjectType } from 'type-graphql';
import { User, toUser } from '../users/user.type.js';
import type { AuthResult } from './auth-result.js';

@ObjectType({ description: 'A new session (sign-in) or a rotated one (refresh).' })
export class AuthPayload {
  @Field(() => String, { description: 'Send as `Authorization: Bearer <accessToken>`.' })
  accessToken!: string;

  @Field(() => Date)
  accessTokenExpiresAt!: Date;

  @Field(() => String, { description: 'Opaque; single use. Keep it in secure storage; exchange it with `refreshSession`.' })
  refreshToken!: string;

  @Field(() => Date)
  refreshTokenExpiresAt!: Date;

  @Field(() => Boolean, { description: 'True when this sign-in created the account.' })
  isNewUser!: boolean;

  @Field(() => User)
  user!: User;
}

export function toAuthPayload(r: AuthResult): AuthPayload {
  return {
    accessToken: r.accessToken,
    accessTokenExpiresAt: new Date(r.accessTokenExpiresAt),
    refreshToken: r.refreshToken,
    refreshTokenExpiresAt: new Date(r.refreshTokenExpiresAt),
    isNewUser: r.isNewUser,
    user: toUser(r.user, 'owner'), // the account that just signed in or refreshed
  };
}
