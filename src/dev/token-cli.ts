/**
 * Prints a development ID token (Google- or Apple-shaped, signed by the development issuer):
 *
 *   TOKEN=$(npm run -s dev:token -- --email you@example.com [--name "…"] [--nonce …] [--hd …] [--aud …] [--sub …])
 *   TOKEN=$(npm run -s dev:token -- --provider apple --email x@privaterelay.appleid.com --private-email [--nonce …] [--aud …] [--sub …])
 *
 * stdout carries the token only; messages go to stderr. Refuses in production (exit 1).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { DevIssuerDisabledError, loadDevIssuer } from './dev-issuer.js';

const USAGE = [
  'usage: npm run -s dev:token -- --email you@example.com [--name "Your Name"] [--nonce N] [--hd example.com] [--aud CLIENT_ID] [--sub SUB]',
  '       npm run -s dev:token -- --provider apple --email x@privaterelay.appleid.com [--private-email] [--nonce N] [--aud CLIENT_ID] [--sub SUB]',
].join('\n');

async function main(argv: string[]): Promise<number> {
  if (process.env.NODE_ENV === 'production') {
    process.stderr.write('dev:token: refusing to run with NODE_ENV=production: the development issuer does not exist in production.\n');
    return 1;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        provider: { type: 'string' },
        email: { type: 'string' },
        'private-email': { type: 'boolean' },
        name: { type: 'string' },
        nonce: { type: 'string' },
        hd: { type: 'string' },
        aud: { type: 'string' },
        sub: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`dev:token: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const provider = values.provider ?? 'google';
  if (provider !== 'google' && provider !== 'apple') {
    process.stderr.write(`dev:token: --provider must be google or apple\n${USAGE}\n`);
    return 2;
  }
  if (typeof values.email !== 'string' || values.email.length === 0) {
    process.stderr.write(`dev:token: --email is required\n${USAGE}\n`);
    return 2;
  }

  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`dev:token: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    return 1;
  }
  try {
    const issuer = await loadDevIssuer(config);
    const token = await issuer.mintDevIdToken({
      provider,
      email: values.email,
      privateEmail: values['private-email'] === true ? true : undefined,
      name: values.name as string | undefined,
      nonce: values.nonce as string | undefined,
      hd: values.hd as string | undefined,
      audience: values.aud as string | undefined,
      sub: values.sub as string | undefined,
    });
    process.stdout.write(`${token}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`dev:token: ${err instanceof DevIssuerDisabledError || err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof DevIssuerDisabledError ? 1 : 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
