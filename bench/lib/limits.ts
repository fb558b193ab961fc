/**
 * The load generator sends everything from one loopback address, which the gateway's
 * per-address rate limits (RATE_LIMIT_*) would refuse after a few dozen sign-ins. The
 * benchmark measures throughput, not the limiter, so it raises them; the rate-limit checks
 * still run (one Redis round trip each), only the thresholds differ from the defaults.
 */
export const BENCH_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_SIGN_IN_PER_ADDRESS: '1000000/1d',
  RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '1000000/1d',
  RATE_LIMIT_SIGN_IN_PER_ACCOUNT: '1000000/1d',
  RATE_LIMIT_REFRESH_PER_SESSION: '1000000/1d',
};
