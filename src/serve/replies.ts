/**
 * How the server answers: images in the format asked for, and every failure
 * as JSON `{ "error": "<one line>" }` — a 400 that names the field for bad
 * input, a 503 with Retry-After when the queue is full or the model is not
 * loaded yet, never a stack trace.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { encodeNpy, encodePng, imageGrid } from '../data/index.js';
import { ParagenError, show } from '../errors.js';
import { QueueFullError } from './batcher.js';
import type { SampleFormat } from './request.js';

/** The error codes a client causes: the rest are the server's own fault (500). */
const CLIENT_CODES = new Set(['INVALID_VALUE', 'UNKNOWN_KEY', 'BAD_FILE']);

/** Seconds a client is asked to wait when the server is busy or still loading. */
export const RETRY_AFTER_S = 1;

export function errorReply(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply, bodyLimit: number): FastifyReply {
  if (error instanceof ParagenError && CLIENT_CODES.has(error.code)) return reply.code(400).send({ error: error.message });
  if (error instanceof QueueFullError) {
    return reply.code(503).header('retry-after', String(RETRY_AFTER_S)).send({ error: `server busy: ${error.message}, retry later` });
  }
  const code = (error as FastifyError).code;
  const type = request.headers['content-type'];
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const length = request.headers['content-length'];
      return reply
        .code(400)
        .send({ error: `body must be at most ${bodyLimit} bytes, got ${length === undefined ? 'more' : `${length} bytes`}` });
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply.code(400).send({
        error: `content-type must be application/json, or application/octet-stream for an .npy body, got ${show(type)}`,
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply.code(400).send({ error: "body must be a JSON object, got nothing (content-type is 'application/json')" });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return reply.code(400).send({ error: 'body must be valid JSON, got text that does not parse as JSON' });
  }
  if (error instanceof SyntaxError || (error as FastifyError).statusCode === 400) {
    return reply.code(400).send({ error: 'body must be valid JSON, got text that does not parse as JSON' });
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
  request.log.error({ err: error }, 'internal error');
  return reply.code(500).send({ error: `internal error: ${error.message}` });
}

/** `images` ([n, h, w, c] flattened, in [0, 1]) in `format`: the body and its content type. */
export function encodeImages(
  images: Float32Array,
  n: number,
  shape: readonly [number, number, number],
  format: SampleFormat,
): { body: Uint8Array | string; type: string } {
  const [h, w, c] = shape;
  switch (format) {
    case 'png':
      return { body: encodePng(imageGrid(images, n, h, w, c)), type: 'image/png' };
    case 'npy':
      return { body: encodeNpy(images, [n, h, w]), type: 'application/octet-stream' };
    case 'json':
      return { body: JSON.stringify({ shape: [n, h, w], images: nested(images, n, h, w) }), type: 'application/json' };
  }
}

/** [n][h][w] arrays. */
export function nested(data: Float32Array, n: number, h: number, w: number): number[][][] {
  const out: number[][][] = [];
  for (let i = 0; i < n; i++) {
    const image: number[][] = [];
    for (let y = 0; y < h; y++) image.push(Array.from(data.subarray((i * h + y) * w, (i * h + y + 1) * w)));
    out.push(image);
  }
  return out;
}

/** [n][d] arrays. */
export function rows(data: Float32Array, n: number, d: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * d, (i + 1) * d)));
}
