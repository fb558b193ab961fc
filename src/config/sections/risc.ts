import { KEY_SET_URL_ACCEPTS, keySetUrlProblem } from '../key-set-url.js';
import { defineSection } from '../section.js';
import { flag, text } from '../variables.js';

export const GOOGLE_RISC_CONFIG_URI_DEFAULT = 'https://accounts.google.com/.well-known/risc-configuration';
export const RISC_API_URL_DEFAULT = 'https://risc.googleapis.com';

export interface RiscConfig {
  readonly risc: {
    /**
     * Whether `POST /notifications/google-risc` is served. It also needs Google sign-in to be
     * on (GOOGLE_CLIENT_IDS): the events' audience is one of those client ids.
     */
    readonly enabled: boolean;
    /** Google's RISC discovery document: `issuer` and `jwks_uri` of the Security Event Tokens. */
    readonly configUri: string;
    /** The RISC stream management API (`npm run risc`). */
    readonly apiUrl: string;
  };
}

/**
 * Google Cross-Account Protection (RISC): the receiver of Google's Security Event Tokens
 * (src/http/google-risc.ts) and the stream management command (src/risc/risc-cli.ts).
 */
export const risc = defineSection({
  title: 'Google Cross-Account Protection (RISC)',
  variables: {
    GOOGLE_RISC_RECEIVER: flag('serve `POST /notifications/google-risc` (only while Google sign-in is on)', true),
    GOOGLE_RISC_CONFIG_URI: text('Google’s RISC discovery document (`issuer`, `jwks_uri`)', { default: GOOGLE_RISC_CONFIG_URI_DEFAULT, accepts: KEY_SET_URL_ACCEPTS }),
    RISC_API_URL: text('the RISC stream management API (`npm run risc`)', { default: RISC_API_URL_DEFAULT, accepts: KEY_SET_URL_ACCEPTS }),
  },
  read(v, ctx): RiscConfig {
    for (const name of ['GOOGLE_RISC_CONFIG_URI', 'RISC_API_URL'] as const) {
      const problem = keySetUrlProblem(v[name]);
      if (problem) ctx.problem(name, problem);
    }
    return { risc: { enabled: v.GOOGLE_RISC_RECEIVER, configUri: v.GOOGLE_RISC_CONFIG_URI, apiUrl: v.RISC_API_URL.replace(/\/+$/, '') } };
  },
});
