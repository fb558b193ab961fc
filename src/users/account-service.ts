import { guardStore } from '../errors.js';
import type { Principal } from '../sessions/session-service.js';
import type { Stores } from '../store/types.js';

/** Account-level operations of the signed-in user. (Operators use src/users/user-cli.ts.) */
export class AccountService {
  constructor(
    private readonly stores: Stores,
    private readonly log: { error(obj: object, msg: string): void },
  ) {}

  /**
   * Deletes the caller's account: the Google identity link, the user record, every session and
   * grace box, and the session index. Every token of the account stops working at once; the
   * next sign-in with the same Google account creates a new account with a new id.
   */
  async deleteAccount(principal: Principal): Promise<boolean> {
    return guardStore(this.stores.accounts.deleteAccount(principal.user.id), this.log);
  }
}
