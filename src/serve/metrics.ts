/**
 * The server's Prometheus metrics (prom-client), on a registry of its own so
 * that several servers in one process (tests) do not share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServeMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly batchImages: Histogram;
  readonly batchRequests: Histogram;
  readonly queueDepth: Gauge;
  readonly images: Counter<'route'>;
  readonly checkpointStep: Gauge;
}

export function createMetrics(queueDepth: () => number): ServeMetrics {
  const registry = new Registry();
  // Process figures (RSS, heap, event-loop lag, CPU) next to the server's own.
  collectDefaultMetrics({ register: registry, prefix: 'paragen_' });
  return {
    registry,
    requests: new Counter({
      name: 'paragen_http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'paragen_http_request_duration_seconds',
      help: 'Time from request to response, by route',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    batchImages: new Histogram({
      name: 'paragen_batch_images',
      help: 'Images per batch sent to a worker',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    batchRequests: new Histogram({
      name: 'paragen_batch_requests',
      help: 'Requests joined in one batch',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'paragen_queue_depth',
      help: 'Requests waiting for a worker',
      registers: [registry],
      collect() {
        this.set(queueDepth());
      },
    }),
    images: new Counter({
      name: 'paragen_images_served_total',
      help: 'Images returned, by route',
      labelNames: ['route'],
      registers: [registry],
    }),
    checkpointStep: new Gauge({
      name: 'paragen_checkpoint_step',
      help: 'Step of the checkpoint being served',
      registers: [registry],
    }),
  };
}
