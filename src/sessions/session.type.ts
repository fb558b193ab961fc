import { Field, ID, ObjectType } from 'type-graphql';
import type { SessionRecord } from '../store/types.js';
import { lastSeenAt, sessionEnd } from './policy.js';

@ObjectType({ description: 'A signed-in device or app instance of the caller.' })
export class Session {
  @Field(() => ID, { description: 'Pass to `revokeSession` to end it.' })
  id!: string;

  @Field(() => Boolean, { description: 'True for the session of the access token that made this request.' })
  current!: boolean;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { description: 'Last refresh or request, to the minute.' })
  lastSeenAt!: Date;

  @Field(() => Date, {
    description: 'When the session ends unless it is refreshed first: the earlier of the inactivity timeout and the absolute lifetime.',
  })
  expiresAt!: Date;

  @Field(() => String, { nullable: true, description: 'User-Agent of the sign-in request (at most 256 bytes).' })
  userAgent!: string | null;

  @Field(() => String, { nullable: true, description: 'Client address of the sign-in request.' })
  clientAddress!: string | null;
}

export function toSession(r: SessionRecord, currentSessionId: string): Session {
  return {
    id: r.id,
    current: r.id === currentSessionId,
    createdAt: new Date(r.createdAt),
    lastSeenAt: new Date(lastSeenAt(r)),
    expiresAt: new Date(sessionEnd(r)),
    userAgent: r.userAgent,
    clientAddress: r.clientAddress,
  };
}
