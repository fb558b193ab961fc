import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every metric of the gateway is named `authgw_<name>`. */
export const METRIC_PREFIX = 'authgw_';

/**
 * prom-client declarations with the name prefix and the registry written once: each gateway
 * instance has its own registry (src/metrics/metrics.ts says why), and every part that owns
 * metrics (sign-in, webhooks, Apple) declares them on it through this.
 */
export class MetricDeclarations {
  constructor(private readonly registry: Registry) {}

  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter<L>({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram<L>({ name: METRIC_PREFIX + name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** A gauge read on each scrape by `collect` (`this` is the gauge). */
  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[], collect: (this: Gauge<L>) => void | Promise<void>): Gauge<L> {
    return new Gauge<L>({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry], collect });
  }
}
