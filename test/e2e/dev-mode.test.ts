import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/redis-server.js';
import { ME, SIGN_IN, SIGN_IN_APPLE, bearer } from '../support/gateway.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The README's quick start as a new user runs it: the built gateway (`node dist/main.js`,
 * what `npm start` runs after building) with no Redis and no Google, and a token from the
 * development issuer CLI (`npm run dev:token`). `npm test` builds dist/ first.
 */
describe('development mode: the README walkthrough', () => {
  let proc: ChildProcess;
  let url: string;
  let output = '';
  const devDir = mkdtempSync(join(tmpdir(), 'ag-dev-'));
  const env = { PATH: process.env.PATH, DEV_DIR: devDir, LOG_LEVEL: 'info', HOST: '127.0.0.1' };

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    proc = spawn(process.execPath, ['dist/main.js'], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (output += d));
    proc.stderr!.on('data', (d) => (output += d));
    const ready = async () => {
      if (proc.exitCode !== null) throw new Error(`gateway exited during start-up (code ${proc.exitCode}):\n${output}`);
      return (await fetch(`${url}/readyz`).catch(() => null))?.ok; // refused until it listens
    };
    await waitFor('the gateway to answer /readyz 200', ready, { timeoutMs: 15_000, intervalMs: 100 }).catch((err: Error) => {
      throw new Error(`${err.message}:\n${output}`);
    });
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(devDir, { recursive: true, force: true });
  });

  it('signs in with a development token and answers me, on the embedded store', async () => {
    const cli = spawnSync(process.execPath, ['dist/dev/token-cli.js', '--email', 'you@example.com', '--name', 'You'], { env, encoding: 'utf8' });
    expect(cli.status).toBe(0);
    const idToken = cli.stdout.trim();
    expect(idToken.split('.')).toHaveLength(3);

    const post = (query: string, variables?: object, headers: Record<string, string> = {}) =>
      fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) }).then((r) => r.json() as Promise<any>);
    const signIn = await post(SIGN_IN, { idToken });
    expect(signIn.errors).toBeUndefined();
    expect(signIn.data.signInWithGoogle).toMatchObject({ isNewUser: true, user: { email: 'you@example.com', name: 'You' } });
    const me = await post(ME, undefined, bearer(signIn.data.signInWithGoogle.accessToken));
    expect(me).toEqual({ data: { me: { id: signIn.data.signInWithGoogle.user.id, email: 'you@example.com', name: 'You' } } });
  });

  it('runs the session and account lifecycle on the embedded store too', async () => {
    const post = (query: string, variables?: object, headers: Record<string, string> = {}) =>
      fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) }).then((r) => r.json() as Promise<any>);
    const token = (nonce?: string) => {
      const args = ['dist/dev/token-cli.js', '--email', 'life@example.com', ...(nonce ? ['--nonce', nonce] : [])];
      const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
      expect(r.status).toBe(0);
      return r.stdout.trim();
    };
    const nonce = (await post('mutation { createSignInNonce { nonce } }')).data.createSignInNonce.nonce;
    const first = (await post(SIGN_IN, { idToken: token(nonce), nonce })).data.signInWithGoogle;
    expect((await post(SIGN_IN, { idToken: token(nonce), nonce })).errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_nonce' });
    const second = (await post(SIGN_IN, { idToken: token() })).data.signInWithGoogle;
    const listed = await post('{ mySessions { id current } }', undefined, bearer(second.accessToken));
    expect(listed.data.mySessions.map((s: { current: boolean }) => s.current)).toEqual([true, false]);
    expect(await post('mutation { signOutOtherSessions }', undefined, bearer(second.accessToken))).toEqual({ data: { signOutOtherSessions: 1 } });
    expect((await post(ME, undefined, bearer(first.accessToken))).errors[0].extensions.reason).toBe('session_revoked');
    expect(await post('mutation { deleteMyAccount }', undefined, bearer(second.accessToken))).toEqual({ data: { deleteMyAccount: true } });
    const again = (await post(SIGN_IN, { idToken: token() })).data.signInWithGoogle;
    expect(again.isNewUser).toBe(true);
    expect(again.user.id).not.toBe(second.user.id);
  });

  it('signs in with Apple (on by default in development) and links the Apple identity to a Google account, on the embedded store', async () => {
    const post = (query: string, variables?: object, headers: Record<string, string> = {}) =>
      fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) }).then((r) => r.json() as Promise<any>);
    const mint = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['dist/dev/token-cli.js', ...args], { env, encoding: 'utf8' });
      expect([r.status, r.stderr]).toEqual([0, '']);
      return r.stdout.trim();
    };
    const relay = mint('--provider', 'apple', '--email', 'x@privaterelay.appleid.com', '--private-email');
    const viaApple = await post(SIGN_IN_APPLE, { identityToken: relay, givenName: 'Ada', familyName: 'Lovelace' });
    expect(viaApple.errors).toBeUndefined();
    expect(viaApple.data.signInWithApple).toMatchObject({
      isNewUser: true,
      user: { name: 'Ada Lovelace', email: 'x@privaterelay.appleid.com', identities: [{ provider: 'APPLE', isPrivateEmail: true, emailVerified: true }] },
    });
    const google = (await post(SIGN_IN, { idToken: mint('--email', 'ada@example.com') })).data.signInWithGoogle;
    const linked = await post(
      'mutation($t: String!) { linkIdentity(provider: APPLE, idToken: $t) { id } }',
      { t: mint('--provider', 'apple', '--email', 'other@privaterelay.appleid.com', '--private-email') },
      bearer(google.accessToken),
    );
    expect(linked).toEqual({ data: { linkIdentity: { id: google.user.id } } });
    const again = await post(SIGN_IN_APPLE, { identityToken: mint('--provider', 'apple', '--email', 'other@privaterelay.appleid.com') });
    expect(again.data.signInWithApple).toMatchObject({ isNewUser: false, user: { id: google.user.id } });
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
