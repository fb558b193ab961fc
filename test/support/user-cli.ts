import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from '@jest/globals';
import type { FakeGoogle } from './fake-google.js';
import { ME, REFRESH, SIGN_IN, bearer, type AuthPayloadShape, type GqlResponse, type TestGateway } from './gateway.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node dist/users/user-cli.js …` (what `npm run user` and the Docker image run) with exactly `env` (plus PATH). */
export async function runUserCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['dist/users/user-cli.js', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const reasonOf = (r: GqlResponse) => r.body.errors?.[0]?.extensions;

/**
 * The operator's round trip on whatever Redis `gw` runs on: two sessions, `disable` ends both
 * at once and refuses sign-in, `show` prints the account, `enable` lets the user back in.
 * `cliEnv` is the environment the command gets: the gateway's own configuration.
 */
/** Returns the user id. */
export async function disableShowEnable(gw: TestGateway, google: FakeGoogle, sub: string, cliEnv: Record<string, string>): Promise<string> {
  const signIn = async () => {
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub }) });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  };
  const [s1, s2] = [await signIn(), await signIn()];
  const uid = s1!.user.id;

  expect(await runUserCli(['disable', uid], cliEnv)).toEqual({ code: 0, stdout: `disabled user ${uid}; ended 2 session(s)\n`, stderr: '' });
  for (const s of [s1!, s2!]) {
    expect(reasonOf(await gw.gql(ME, undefined, bearer(s.accessToken)))).toEqual({ code: 'UNAUTHENTICATED', reason: 'account_disabled' });
    expect(reasonOf(await gw.gql(REFRESH, { refreshToken: s.refreshToken }))).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_refresh_token' });
  }
  expect(reasonOf(await gw.gql(SIGN_IN, { idToken: await google.mint({ sub }) }))).toEqual({ code: 'UNAUTHENTICATED', reason: 'account_disabled' });

  const shown = await runUserCli(['show', uid], cliEnv);
  expect(shown.code).toBe(0);
  expect(JSON.parse(shown.stdout)).toMatchObject({ id: uid, identities: [{ provider: 'google', subject: sub, pending: false }], disabled: true, sessions: [] });

  expect(await runUserCli(['enable', uid], cliEnv)).toEqual({ code: 0, stdout: `enabled user ${uid}\n`, stderr: '' });
  const back = await signIn();
  expect(back).toMatchObject({ isNewUser: false, user: { id: uid } });
  const listed = JSON.parse((await runUserCli(['show', uid], cliEnv)).stdout) as { disabled: boolean; sessions: { id: string }[] };
  expect(listed.disabled).toBe(false);
  expect(listed.sessions).toHaveLength(1);
  return uid;
}
