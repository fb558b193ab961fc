/**
 * Google Cross-Account Protection's stream, managed from the command line (README, "Google
 * Cross-Account Protection"):
 *
 *   npm run risc -- configure --receiver-url https://auth.example.com/notifications/google-risc --service-account-file key.json
 *   npm run risc -- status  --service-account-file key.json   the stream's configuration and status, as JSON
 *   npm run risc -- enable  --service-account-file key.json
 *   npm run risc -- disable --service-account-file key.json
 *   npm run risc -- verify  --service-account-file key.json [--state <text>]
 *                           Google pushes a verification event; the receiver logs it with its state
 *
 * `--service-account-file` defaults to GOOGLE_APPLICATION_CREDENTIALS; the API is RISC_API_URL
 * (https://risc.googleapis.com). In the Docker image: `node dist/risc/risc-cli.js …`.
 * Exit codes: 0 done, 1 Google refused or could not be reached, 2 usage or an unusable key file.
 * Messages name the problem; the key is never printed.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, readSections } from '../config/index.js';
import { risc, type RiscConfig } from '../config/sections/risc.js';
import { readServiceAccount, RiscCliError, RiscManagementClient } from './management.js';

const USAGE = `usage: npm run risc -- <configure|status|enable|disable|verify> [options]
  configure --receiver-url <https URL of /notifications/google-risc> --service-account-file <key.json>
  status|enable|disable --service-account-file <key.json>
  verify --service-account-file <key.json> [--state <text>]
  (--service-account-file defaults to GOOGLE_APPLICATION_CREDENTIALS; the API is RISC_API_URL)`;

type Out = { write(s: string): unknown };
const COMMANDS = ['configure', 'status', 'enable', 'disable', 'verify'] as const;
type Command = (typeof COMMANDS)[number];

export async function runRiscCli(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out, fetchImpl?: typeof fetch): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'receiver-url': { type: 'string' },
        'service-account-file': { type: 'string' },
        state: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    err.write(`risc: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const command = positionals[0] as Command | undefined;
  if (!command || !COMMANDS.includes(command) || positionals.length > 1) {
    err.write(`${USAGE}\n`);
    return 2;
  }
  try {
    const options = checkOptions(command, values);
    const apiUrl = readApiUrl(env);
    const file = values['service-account-file'] ?? env.GOOGLE_APPLICATION_CREDENTIALS;
    if (!file) throw new RiscCliError('--service-account-file is required (or set GOOGLE_APPLICATION_CREDENTIALS)', true);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new RiscCliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, true);
    }
    const client = new RiscManagementClient({ apiUrl, serviceAccount: await readServiceAccount(text, file), fetch: fetchImpl });
    switch (command) {
      case 'configure':
        await client.configure(options.receiverUrl!);
        out.write(`stream configured: Google pushes to ${options.receiverUrl} (enable it with \`npm run risc -- enable\`; check with \`npm run risc -- verify\`)\n`);
        return 0;
      case 'status': {
        const [stream, status] = [await client.stream(), await client.status()];
        out.write(`${JSON.stringify({ stream, status }, null, 2)}\n`);
        return 0;
      }
      case 'enable':
      case 'disable':
        await client.setStatus(command === 'enable' ? 'enabled' : 'disabled');
        out.write(`stream ${command}d\n`);
        return 0;
      case 'verify': {
        const state = options.state ?? `verify-${new Date().toISOString()}`;
        await client.verify(state);
        out.write(`verification requested with state "${state}": the receiver logs "Google security event received" with it once Google delivers\n`);
        return 0;
      }
    }
  } catch (e) {
    if (e instanceof RiscCliError) {
      err.write(`risc: ${e.message}\n`);
      return e.usage ? 2 : 1;
    }
    err.write(`risc: unexpected error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

function checkOptions(command: Command, values: { 'receiver-url'?: string; state?: string }): { receiverUrl?: string; state?: string } {
  const url = values['receiver-url'];
  if (command === 'configure') {
    if (!url) throw new RiscCliError('configure needs --receiver-url (the https URL of /notifications/google-risc)', true);
    const u = URL.canParse(url) ? new URL(url) : null;
    // Google pushes only to https URLs on the project's authorised domains.
    if (!u || u.protocol !== 'https:') throw new RiscCliError(`--receiver-url must be an https: URL (got "${url.slice(0, 200)}")`, true);
    if (!u.pathname.endsWith('/notifications/google-risc')) throw new RiscCliError('--receiver-url must point at the gateway’s /notifications/google-risc', true);
  } else if (url !== undefined) {
    throw new RiscCliError('--receiver-url is for configure only', true);
  }
  if (values.state !== undefined && command !== 'verify') throw new RiscCliError('--state is for verify only', true);
  if (values.state !== undefined && (values.state.length === 0 || values.state.length > 200)) throw new RiscCliError('--state must be 1 to 200 characters', true);
  return { receiverUrl: url, state: values.state };
}

function readApiUrl(env: NodeJS.ProcessEnv): string {
  try {
    return (readSections([risc] as never, env) as RiscConfig).risc.apiUrl;
  } catch (e) {
    throw new RiscCliError(e instanceof ConfigError ? e.message : String(e), true);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(await runRiscCli(process.argv.slice(2), process.env, process.stdout, process.stderr));
}
