import { storeCall } from '../errors.js';
import type { Principal } from '../sessions/session-service.js';
import type { Stores } from '../store/types.js';

/** Account-level operations of the signed-in user. (Operators use src/users/user-cli.ts.) */
export class AccountService {
  constructor(
    private readonly stores: Pick<Stores, 'identities' | 'accounts'>,
    private readonly log: { error(obj: object, msg: string): void },
    private readonly now: () => number,
  ) {}

  /**
   * Deletes the caller's account: the Google identity link, the user record, every session and
   * grace box, and the session index. Every token of the account stops working at once; the
   * next sign-in with the same Google account creates a new account with a new id. The same
   * step appends `user.deleted` and a `session.revoked` (`account_deleted`) per session.
   */
  async deleteAccount(principal: Principal): Promise<boolean> {
    const { user } = principal;
    // The link goes first: from then on no sign-in reaches this account. One that read the
    // link just before finds the record gone when it writes, and links a fresh account
    // (src/sessions/sign-in.ts). Unlinking only while the link still names this account keeps
    // a newer account's link.
    await storeCall(this.stores.identities.unlink('google', user.googleSub, user.id), this.log);
    const { found } = await storeCall(this.stores.accounts.setAccountState(user.id, 'deleted', this.now()), this.log);
    return found;
  }
}
