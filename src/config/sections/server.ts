import { defineSection } from '../section.js';
import { port, text } from '../variables.js';

export interface ServerConfig {
  /** NODE_ENV=production: no embedded store, no development issuer, no introspection, no stack traces. */
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const server = defineSection({
  title: 'Process',
  variables: {
    NODE_ENV: text('`production` turns off development conveniences: the embedded store, the development issuer, introspection, stack traces in errors', {
      default: 'development',
      accepts: '`production`, or anything else for development',
    }),
    PORT: port('listen port', 4000),
    HOST: text('listen address', { default: '0.0.0.0', accepts: 'a host name or IP address' }),
    LOG_LEVEL: text('the least severe log lines written (`silent`: none)', { default: 'info', choices: LOG_LEVELS }),
  },
  read: (v): ServerConfig => ({ production: v.NODE_ENV === 'production', port: v.PORT, host: v.HOST, logLevel: v.LOG_LEVEL }),
});
