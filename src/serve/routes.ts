/**
 * The server's routes: health and readiness, /v1/samples (GET with a query
 * string, POST with a JSON body), /v1/reconstruct for a VAE, /metrics.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Batcher } from './batcher.js';
import type { ServeMetrics } from './metrics.js';
import type { ServedModel } from './model.js';
import { encodeImages, rows, nested, RETRY_AFTER_S } from './replies.js';
import { parseImages, parseSampleRequest } from './request.js';
import type { Reconstruction } from './serve-worker.js';

export interface ImagesJob {
  readonly n: number;
  readonly seed: number;
  readonly z?: Float32Array;
}

export interface ImagesResult {
  readonly images: Float32Array;
  /** The checkpoint that drew them (with --watch it may change between requests). */
  readonly model: ServedModel;
}

export interface ReconstructJob {
  readonly images: Float32Array;
  readonly count: number;
}

export interface RouteContext {
  readonly model: () => ServedModel | undefined;
  readonly maxN: number;
  readonly images: Batcher<ImagesJob, ImagesResult>;
  readonly reconstructions: Batcher<ReconstructJob, Reconstruction>;
  readonly metrics: ServeMetrics;
  readonly randomSeed: () => number;
}

function notReady(reply: FastifyReply): FastifyReply {
  return reply.code(503).header('retry-after', String(RETRY_AFTER_S)).send({ error: 'the model is still loading' });
}

export function registerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const model = ctx.model();
    if (!model) return reply.code(503).send({ status: 'loading' });
    return { status: 'ready', model: model.spec.name, step: model.step, checkpoint: model.checkpoint };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  const samples = async (input: unknown, reply: FastifyReply) => {
    const model = ctx.model();
    if (!model) return notReady(reply);
    const request = parseSampleRequest(input, model.spec, ctx.maxN, ctx.randomSeed);
    const result = await ctx.images.submit({ n: request.n, seed: request.seed, ...(request.z ? { z: request.z } : {}) });
    const { body, type } = encodeImages(result.images, request.n, result.model.spec.imageShape, request.format);
    ctx.metrics.images.inc({ route: '/v1/samples' }, request.n);
    return reply
      .type(type)
      .header('x-paragen-seed', String(request.seed))
      .header('x-paragen-step', String(result.model.step))
      .header('x-paragen-model', result.model.spec.name)
      .send(body);
  };
  app.get('/v1/samples', (request, reply) => samples(request.query, reply));
  app.post('/v1/samples', (request, reply) => samples(request.body ?? {}, reply));

  app.post('/v1/reconstruct', async (request, reply) => {
    const model = ctx.model();
    if (!model) return notReady(reply);
    if (model.spec.kind !== 'vae') {
      return reply.code(404).send({ error: `no route POST /v1/reconstruct: ${model.spec.name} is a GAN, which has no encoder` });
    }
    const { images, count } = parseImages(request.body, model.spec, ctx.maxN);
    const result = await ctx.reconstructions.submit({ images, count });
    const [h, w] = model.spec.imageShape;
    ctx.metrics.images.inc({ route: '/v1/reconstruct' }, count);
    return reply.header('x-paragen-step', String(model.step)).send({
      shape: [count, h, w],
      reconstructions: nested(result.images, count, h, w),
      mu: rows(result.mu, count, model.spec.latentDim),
    });
  });
}
