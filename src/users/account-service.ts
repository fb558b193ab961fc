import { storeCall } from '../errors.js';
import type { Stores } from '../store/types.js';

/** Account-level operations. (Operators use src/users/user-cli.ts.) */
export class AccountService {
  constructor(
    private readonly stores: Pick<Stores, 'identities' | 'accounts'>,
    private readonly log: { error(obj: object, msg: string): void },
    private readonly now: () => number,
  ) {}

  /**
   * Deletes the account (`deleteMyAccount`, and whatever else must delete an account the same
   * way): every identity link, the user record, its identities, every session and grace box,
   * and the session index. Every token of the account stops working at once; the next sign-in
   * with any of its identities creates a new account with a new id. The deleting step appends
   * `user.deleted` and a `session.revoked` (`account_deleted`) per session. False for an
   * unknown account.
   */
  async deleteAccount(userId: string): Promise<boolean> {
    const [identities = []] = await storeCall(this.stores.accounts.getIdentities([userId]), this.log);
    // The links go first: from then on no sign-in reaches this account. One that read a link
    // just before finds the record gone when it writes, and links a fresh account
    // (src/sessions/sign-in.ts). Unlinking only while the link still names this account keeps
    // a newer account's link.
    await storeCall(Promise.all(identities.map((i) => this.stores.identities.unlink(i.provider, i.subject, userId))), this.log);
    const { found, identities: had } = await storeCall(this.stores.accounts.setAccountState(userId, 'deleted', this.now()), this.log);
    // A link an identity being linked meanwhile took (the account listed it when it was deleted).
    const late = had.filter((h) => !identities.some((i) => i.provider === h.provider && i.subject === h.subject));
    await storeCall(Promise.all(late.map((i) => this.stores.identities.unlink(i.provider, i.subject, userId))), this.log);
    return found;
  }
}
