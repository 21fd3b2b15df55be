/**
 * `paragen serve`'s HTTP server (fastify): a run's generator or decoder behind
 * /v1/samples (and a VAE's encoder behind /v1/reconstruct), loaded once onto
 * the sample pool's worker threads; concurrent requests batched; a bounded
 * queue; Prometheus metrics; one JSON log line per request; a clean drain.
 *
 * It listens before the model loads, so an orchestrator sees /healthz at once
 * and /readyz turn 200 when the model is in.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { BackendChoice } from '../backend/index.js';
import { useBackend } from '../backend/index.js';
import { SamplePool } from '../run/sample-pool.js';
import { Batcher } from './batcher.js';
import { createMetrics, type ServeMetrics } from './metrics.js';
import { loadServedModel, newestStep, type ServedModel } from './model.js';
import { registerRoutes, type ImagesJob, type ImagesResult, type ReconstructJob } from './routes.js';
import { errorReply } from './replies.js';
import type { NoiseSource, Reconstruction } from './serve-worker.js';

export interface ServeOptions {
  readonly run: string;
  readonly backend: BackendChoice;
  readonly host: string;
  readonly port: number;
  readonly workers: number;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxN: number;
  readonly queue: number;
  readonly token?: string;
  readonly watch: boolean;
  /** How often --watch looks for a new checkpoint. */
  readonly watchIntervalMs?: number;
  /** Largest request body; default 32 MiB (1,024 images as JSON). */
  readonly bodyLimit?: number;
  /** Receives the log: one JSON line per request, and the server's own events. */
  readonly log?: (line: string) => void;
  /** A seed for requests that give none. */
  readonly randomSeed?: () => number;
}

export interface SampleServer {
  readonly app: FastifyInstance;
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Resolves once the model is loaded; rejects with the load's one-line error. */
  readonly loaded: Promise<ServedModel>;
  readonly metrics: ServeMetrics;
  /** The checkpoint being served, once loaded. */
  model(): ServedModel | undefined;
  /** Stops accepting, finishes what is in flight, ends the worker threads. */
  close(): Promise<void>;
}

const WORKER = './serve-worker.js';

/**
 * This thread's backend, set up once per choice: two servers in one process
 * (tests) starting together would otherwise initialise wasm twice at once,
 * which fails.
 */
const backends = new Map<BackendChoice, Promise<unknown>>();
function backendOnce(choice: BackendChoice): Promise<unknown> {
  let ready = backends.get(choice);
  if (!ready) {
    ready = useBackend(choice);
    backends.set(choice, ready);
    ready.catch(() => backends.delete(choice));
  }
  return ready;
}

export async function startServer(options: ServeOptions): Promise<SampleServer> {
  let current: ServedModel | undefined;
  const pool = new SamplePool(options.workers);
  const images = new Batcher<ImagesJob, ImagesResult>({
    maxBatch: options.maxBatch,
    maxWaitMs: options.maxWaitMs,
    queue: options.queue,
    slots: options.workers,
    size: (job) => job.n,
    run: (jobs) => runImages(jobs),
    onBatch: (requests, count) => {
      metrics.batchRequests.observe(requests);
      metrics.batchImages.observe(count);
    },
  });
  const reconstructions = new Batcher<ReconstructJob, Reconstruction>({
    maxBatch: options.maxBatch,
    maxWaitMs: 0,
    queue: options.queue,
    slots: options.workers,
    size: (job) => job.count,
    // One request per task: reconstructions are rarer, and batching them would mean splitting two arrays back.
    run: async (jobs) => Promise.all(jobs.map((job) => runReconstruct(job))),
  });
  const metrics = createMetrics(() => images.depth + reconstructions.depth);

  async function runImages(jobs: readonly ImagesJob[]): Promise<ImagesResult[]> {
    const model = current!;
    const sources: NoiseSource[] = jobs.map((j) => (j.z ? { count: j.n, z: j.z } : { count: j.n, seed: j.seed }));
    const task = { model: model.spec.name, key: model.key, backend: model.backend, weights: model.imageWeights, sources };
    const all = await pool.runTask<Float32Array>(import.meta.url, WORKER, 'images', task);
    const size = all.length / jobs.reduce((a, j) => a + j.n, 0);
    let offset = 0;
    return jobs.map((j) => {
      const out = all.subarray(offset, offset + j.n * size);
      offset += j.n * size;
      return { images: out, model };
    });
  }

  function runReconstruct(job: ReconstructJob): Promise<Reconstruction> {
    const model = current!;
    const task = {
      model: model.spec.name,
      key: model.key,
      backend: model.backend,
      encoderWeights: model.encoderWeights,
      decoderWeights: model.imageWeights,
      images: job.images,
      count: job.count,
    };
    return pool.runTask<Reconstruction>(import.meta.url, WORKER, 'reconstruct', task);
  }

  const app = Fastify({
    logger: options.log ? { level: 'info', stream: { write: (line: string) => options.log!(line) } } : false,
    // One line per request, written in onResponse below, instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 32 * 1024 * 1024,
    return503OnClosing: true,
  });
  app.addContentTypeParser(['application/octet-stream', 'application/x-npy'], { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  app.setErrorHandler((error, request, reply) => errorReply(error as Error, request, reply, options.bodyLimit ?? 32 * 1024 * 1024));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  const token = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    if (token === undefined || path === '/healthz' || path === '/readyz') return;
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== token.length || !timingSafeEqual(given, token)) {
      const got = request.headers.authorization === undefined ? 'none' : 'another token';
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: `authorization must be 'Bearer <token>' with this server's --token, got ${got}` });
    }
  });
  // While draining, each answer closes its connection: a keep-alive client would otherwise hold close() open.
  let draining = false;
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    request.log.info(
      { method: request.method, url: request.url, status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(2)) },
      'request',
    );
  });

  registerRoutes(app, {
    model: () => current,
    maxN: options.maxN,
    images,
    reconstructions,
    metrics,
    randomSeed: options.randomSeed ?? (() => randomInt(0, 2 ** 32)),
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;

  const loaded = (async () => {
    await backendOnce(options.backend);
    const model = await loadServedModel(options.run, options.backend, (message) => app.log.warn({ event: 'warning' }, message));
    current = model;
    metrics.checkpointStep.set(model.step);
    app.log.info({ event: 'loaded', model: model.spec.name, step: model.step, checkpoint: model.checkpoint }, 'model loaded');
    return model;
  })();
  // The caller reads `loaded`; this only keeps an early failure from being an unhandled rejection.
  loaded.catch(() => undefined);

  let watcher: NodeJS.Timeout | undefined;
  if (options.watch) {
    let busy = false;
    watcher = setInterval(() => {
      if (busy || current === undefined) return;
      busy = true;
      void reload()
        .catch((error: unknown) => app.log.warn({ event: 'warning' }, `--watch: ${(error as Error).message}`))
        .finally(() => (busy = false));
    }, options.watchIntervalMs ?? 2000);
    watcher.unref();
  }

  async function reload(): Promise<void> {
    const step = await newestStep(options.run);
    if (step === undefined || current === undefined || step <= current.step) return;
    const model = await loadServedModel(options.run, options.backend, (message) => app.log.warn({ event: 'warning' }, message));
    if (model.step <= current.step) return;
    current = model;
    metrics.checkpointStep.set(model.step);
    app.log.info({ event: 'loaded', model: model.spec.name, step: model.step, checkpoint: model.checkpoint }, 'new checkpoint');
  }

  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    loaded,
    metrics,
    model: () => current,
    close() {
      closing ??= (async () => {
        if (watcher) clearInterval(watcher);
        draining = true;
        // fastify's close waits for the requests in flight, which wait for their batches.
        await app.close();
        await Promise.all([images.idle(), reconstructions.idle()]);
        await pool.close();
      })();
      return closing;
    },
  };
}
