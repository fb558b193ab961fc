export { GatewayMetrics, METRIC_PREFIX, classify, redisErrorKind, type AttemptOutcome, type GatewayMetricsOptions, type KeySourceEvent } from './metrics.js';
export { SessionActivity, type SessionActivityOptions } from './active-sessions.js';
export { metricsRoutes } from './routes.js';
