/**
 * `paragen serve` against a real server on 127.0.0.1 (port 0) with runs the
 * trainer really wrote: the done-when of issue 13 (health, PNG, npy, a 400
 * naming n, Prometheus text), every bad request's message, batching, the
 * bounded queue, the bearer token, --watch, and a SIGTERM drain.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/data/index.js';
import { readNpy } from '../../src/data/index.js';
import { startServer, type SampleServer, type ServeOptions } from '../../src/serve/server.js';
import { decodePng } from '../eval/fixtures.js';
import { Child, paragen } from '../helpers/cli.js';
import { TINY, trainTinyRun } from './fixtures.js';

let root: string;
let gan: string;
let vae: string;
const servers: SampleServer[] = [];
const logs: string[] = [];

function options(run: string, overrides: Partial<ServeOptions> = {}): ServeOptions {
  return {
    run,
    backend: 'wasm',
    host: '127.0.0.1',
    port: 0,
    workers: 1,
    maxBatch: 256,
    maxWaitMs: 2,
    maxN: 1024,
    queue: 64,
    watch: false,
    log: (line) => void logs.push(line),
    ...overrides,
  };
}

async function serve(run: string, overrides: Partial<ServeOptions> = {}): Promise<SampleServer> {
  const server = await startServer(options(run, overrides));
  servers.push(server);
  await server.loaded;
  return server;
}

async function bytes(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

let ganServer: SampleServer;
let vaeServer: SampleServer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'paragen-serve-'));
  [gan, vae] = await Promise.all([trainTinyRun(root, 'gan', 'dcgan-small', 2), trainTinyRun(root, 'vae', 'vae-mlp', 2)]);
  [ganServer, vaeServer] = await Promise.all([serve(gan), serve(vae)]);
}, 240_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(root, { recursive: true, force: true });
});

describe('paragen serve: the done-when', () => {
  it('answers /healthz 200, /readyz 200 once loaded, with the checkpoint', async () => {
    const health = await fetch(`${ganServer.url}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await fetch(`${ganServer.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', model: 'dcgan-small', step: 2, checkpoint: join(gan, 'checkpoints', '2') });
  });

  it('gives a PNG grid of n=16 and an npy of 16×28×28, the images of `paragen sample` for the same seed', async () => {
    const png = await fetch(`${ganServer.url}/v1/samples?n=16&seed=3&format=png`);
    expect([png.status, png.headers.get('content-type'), png.headers.get('x-paragen-seed')]).toEqual([200, 'image/png', '3']);
    const image = decodePng(await bytes(png));
    expect([image.width, image.height]).toEqual([4 * 30 + 2, 4 * 30 + 2]);

    const npy = await fetch(`${ganServer.url}/v1/samples?n=16&seed=3&format=npy`);
    expect(npy.status).toBe(200);
    const served = await bytes(npy);
    const out = join(root, 'direct.npy');
    const direct = await paragen(['sample', '--run', gan, '--n', '16', '--seed', '3', '--out', out, '--backend', 'wasm']);
    expect(direct.code).toBe(0);
    expect(Buffer.from(served).equals(readFileSync(out))).toBe(true);
    const array = readNpy(out);
    expect([array.dtype, array.shape]).toEqual(['float32', [16, 28, 28]]);
  });

  it('answers n=-1 with a 400 and JSON naming n', async () => {
    const r = await fetch(`${ganServer.url}/v1/samples?n=-1`);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(await r.json()).toEqual({ error: 'n must be a positive integer ≤ 1024, got -1' });
  });

  it('serves Prometheus text at /metrics: requests, latency, batches, queue depth, images', async () => {
    const r = await fetch(`${ganServer.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    for (const name of [
      'paragen_http_requests_total{route="/v1/samples",method="GET",status="200"}',
      'paragen_http_request_duration_seconds_bucket',
      'paragen_batch_images_bucket',
      'paragen_queue_depth 0',
      'paragen_images_served_total{route="/v1/samples"}',
      'paragen_checkpoint_step 2',
      'paragen_process_resident_memory_bytes',
    ]) {
      expect(text).toContain(name);
    }
  });
});

describe('paragen serve: requests', () => {
  it('gives the same images for the same seed whatever shares the batch, and JSON as nested arrays', async () => {
    const server = await serve(gan, { maxWaitMs: 50 });
    const get = (q: string) => fetch(`${server.url}/v1/samples?${q}`).then(bytes);
    const [alone] = await Promise.all([get('n=5&seed=9&format=npy')]);
    const together = await Promise.all([get('n=5&seed=9&format=npy'), get('n=7&seed=1&format=npy'), get('n=3&seed=9&format=npy')]);
    expect(Buffer.from(together[0]!).equals(Buffer.from(alone!))).toBe(true);
    // Image i depends only on the seed and i: the first 3 of seed 9 are the first 3 of the 5.
    const header = alone!.length - 5 * 784 * 4;
    expect(Buffer.from(together[2]!.subarray(header)).equals(Buffer.from(alone!.subarray(header, header + 3 * 784 * 4)))).toBe(true);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    // The three concurrent requests went out as one batch of 15 images.
    expect(metrics).toContain('paragen_batch_requests_bucket{le="4"} 2');
    expect(metrics).toMatch(/paragen_batch_images_sum 20\n/);

    const json = await fetch(`${server.url}/v1/samples?n=2&seed=9&format=json`);
    const body = (await json.json()) as { shape: number[]; images: number[][][] };
    expect(body.shape).toEqual([2, 28, 28]);
    const fromNpy = new Float32Array(alone!.slice(header).buffer);
    expect(body.images[1]![27]![27]).toBe(fromNpy[2 * 784 - 1]);
  });

  it('takes the same fields as JSON in a POST, and latent vectors z for a VAE', async () => {
    const get = await bytes(await fetch(`${vaeServer.url}/v1/samples?n=4&seed=2&format=npy`));
    const post = await fetch(`${vaeServer.url}/v1/samples`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 4, seed: 2, format: 'npy' }),
    });
    expect(Buffer.from(await bytes(post)).equals(Buffer.from(get))).toBe(true);
    const z = [Array<number>(20).fill(0), Array<number>(20).fill(1)];
    const fromZ = await fetch(`${vaeServer.url}/v1/samples`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ z, format: 'json' }),
    });
    const images = ((await fromZ.json()) as { images: number[][][] }).images;
    expect(images).toHaveLength(2);
    expect(images[0]).not.toEqual(images[1]);
  });

  it('reconstructs images for a VAE from JSON or an .npy body, with the latent means', async () => {
    const source = await bytes(await fetch(`${vaeServer.url}/v1/samples?n=3&seed=5&format=npy`));
    const viaNpy = await fetch(`${vaeServer.url}/v1/reconstruct`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: source,
    });
    expect(viaNpy.status).toBe(200);
    const a = (await viaNpy.json()) as { shape: number[]; reconstructions: number[][][]; mu: number[][] };
    expect(a.shape).toEqual([3, 28, 28]);
    expect(a.mu.map((m) => m.length)).toEqual([20, 20, 20]);
    const images = (await (await fetch(`${vaeServer.url}/v1/samples?n=3&seed=5&format=json`)).json()) as { images: number[][][] };
    const viaJson = await fetch(`${vaeServer.url}/v1/reconstruct`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: images.images }),
    });
    expect(await viaJson.json()).toEqual(a);
    const ganReconstruct = await fetch(`${ganServer.url}/v1/reconstruct`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: source,
    });
    expect([ganReconstruct.status, await ganReconstruct.json()]).toEqual([
      404,
      { error: 'no route POST /v1/reconstruct: dcgan-small is a GAN, which has no encoder' },
    ]);
  });

  it('answers every bad request with a 400 and one line naming the field, and keeps serving', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${vaeServer.url}/v1/samples`, { method: 'POST', headers: { 'content-type': type }, body });
    const cases: [Promise<Response>, string][] = [
      [fetch(`${vaeServer.url}/v1/samples?n=0`), 'n must be a positive integer ≤ 1024, got 0'],
      [fetch(`${vaeServer.url}/v1/samples?n=1025`), 'n must be a positive integer ≤ 1024, got 1025'],
      [fetch(`${vaeServer.url}/v1/samples?n=2.5`), 'n must be a positive integer ≤ 1024, got 2.5'],
      [fetch(`${vaeServer.url}/v1/samples?n=many`), "n must be a positive integer ≤ 1024, got 'many'"],
      [fetch(`${vaeServer.url}/v1/samples?format=gif`), "format must be one of png, npy, json, got 'gif'"],
      [fetch(`${vaeServer.url}/v1/samples?seed=-4`), 'seed must be an integer in [0, 4294967295], got -4'],
      [fetch(`${vaeServer.url}/v1/samples?sede=4`), "unknown key 'sede' (did you mean 'seed'?)"],
      [post('{"z": [[1, 2]]}'), 'z[0] must be an array of 20 finite numbers, got an array of shape 2'],
      [post('{"z": 3}'), 'z must be an array of 1 to 1024 arrays of 20 finite numbers, got 3'],
      [post(JSON.stringify({ n: 3, z: [Array(20).fill(0)] })), 'n must be 1, the number of rows of z, got 3'],
      [post('{"n": 2'), 'body must be valid JSON, got text that does not parse as JSON'],
      [post('[1, 2]'), 'body must be a JSON object such as {"n": 16, "seed": 3}, got an array of shape 2'],
      [post('<x/>', 'application/xml'), "content-type must be application/json, or application/octet-stream for an .npy body, got 'application/xml'"],
      [
        fetch(`${vaeServer.url}/v1/reconstruct`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: encodeNpy(new Float32Array(2 * 27 * 28), [2, 27, 28]),
        }),
        'images must be k×28×28 numbers in [0, 1] with 1 ≤ k ≤ 1024, got an array of shape 2×27×28',
      ],
      [
        fetch(`${vaeServer.url}/v1/reconstruct`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'nope' }),
        'body: not an NPY file: it does not start with \\x93NUMPY',
      ],
      [
        fetch(`${vaeServer.url}/v1/reconstruct`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ images: [Array(28).fill(Array(28).fill(2))] }),
        }),
        'images (value 0) must be a number in [0, 1], got 2',
      ],
    ];
    for (const [response, error] of cases) {
      const r = await response;
      expect({ status: r.status, body: await r.json() }).toEqual({ status: 400, body: { error } });
    }
    expect((await fetch(`${vaeServer.url}/v1/samples?n=1&format=npy`)).status).toBe(200);
  });

  it('refuses a body over the limit with a 400 naming the body', async () => {
    const server = await serve(vae, { bodyLimit: 1000 });
    const r = await fetch(`${server.url}/v1/reconstruct`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(5000),
    });
    expect([r.status, await r.json()]).toEqual([400, { error: 'body must be at most 1000 bytes, got 5000 bytes' }]);
  });

  it('answers 503 with Retry-After when the queue is full, then serves what it queued', async () => {
    // One waiting request fills the queue; it waits up to 1.5 s for company that will not come.
    const server = await serve(gan, { queue: 1, maxWaitMs: 1500 });
    const first = fetch(`${server.url}/v1/samples?n=1&format=npy`);
    await expect.poll(async () => (await (await fetch(`${server.url}/metrics`)).text()).includes('paragen_queue_depth 1')).toBe(true);
    const refused = await fetch(`${server.url}/v1/samples?n=1&format=npy`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ error: 'server busy: the queue is full (1 requests waiting), retry later' });
    expect((await first).status).toBe(200);
  });

  it('requires the bearer token on everything but the health checks', async () => {
    const server = await serve(gan, { token: 's3cret' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const none = await fetch(`${server.url}/v1/samples?n=1`);
    expect([none.status, none.headers.get('www-authenticate'), await none.json()]).toEqual([
      401,
      'Bearer',
      { error: "authorization must be 'Bearer <token>' with this server's --token, got none" },
    ]);
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer guess' } });
    expect([wrong.status, await wrong.json()]).toEqual([
      401,
      { error: "authorization must be 'Bearer <token>' with this server's --token, got another token" },
    ]);
    expect((await fetch(`${server.url}/v1/samples?n=1`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
  });

  it('writes one JSON log line per request', async () => {
    const before = logs.length;
    await fetch(`${ganServer.url}/v1/samples?n=1&seed=1&format=npy`);
    await expect.poll(() => logs.length).toBeGreaterThan(before);
    const lines = logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', method: 'GET', url: '/v1/samples?n=1&seed=1&format=npy', status: 200 });
  });
});

describe('paragen serve: lifecycle', () => {
  it('picks up a new checkpoint with --watch', async () => {
    const run = await trainTinyRun(root, 'watched', 'vae-mlp', 2);
    const server = await serve(run, { watch: true, watchIntervalMs: 100 });
    const before = await bytes(await fetch(`${server.url}/v1/samples?n=2&seed=1&format=npy`));
    const resumed = await paragen(['train', '--resume', run, '--steps', '4', ...TINY]);
    expect(resumed.code).toBe(0);
    await expect.poll(async () => ((await (await fetch(`${server.url}/readyz`)).json()) as { step: number }).step, { timeout: 10_000 }).toBe(4);
    const after = await fetch(`${server.url}/v1/samples?n=2&seed=1&format=npy`);
    expect(after.headers.get('x-paragen-step')).toBe('4');
    expect(Buffer.from(await bytes(after)).equals(Buffer.from(before))).toBe(false);
  }, 120_000);

  it('on SIGTERM finishes the request in flight and exits 0', async () => {
    const child = new Child(['serve', '--run', gan, '--port', '0', '--backend', 'wasm', '--max-wait-ms', '2000']);
    const url = await new Promise<string>((resolve) => {
      const poll = setInterval(() => {
        if (child.stderr.includes('ready')) {
          clearInterval(poll);
          resolve(/listening on (http:\/\/\S+),/.exec(child.stderr)![1]!);
        }
      }, 20);
    });
    const inFlight = fetch(`${url}/v1/samples?n=4&format=npy`);
    // The request waits up to 2 s in the batcher for company: the signal comes while it is there.
    await expect
      .poll(async () => (await (await fetch(`${url}/metrics`)).text()).includes('paragen_queue_depth 1'))
      .toBe(true);
    child.process.kill('SIGTERM');
    const response = await inFlight;
    expect([response.status, response.headers.get('connection')]).toEqual([200, 'close']);
    expect((await bytes(response)).length).toBe(128 + 4 * 784 * 4);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.stderr).toContain('paragen serve: SIGTERM, finishing the requests in flight\n');
    expect(child.stderr).toContain('paragen serve: stopped\n');
  }, 60_000);

  it('refuses a run it cannot serve with one line and exit code 2', async () => {
    const missing = join(root, 'missing');
    const r = await paragen(['serve', '--run', missing, '--port', '0']);
    expect([r.code, r.stderr.split('\n').at(-2)]).toEqual([2, `${missing}: no such run directory`]);
    const bad = await paragen(['serve', '--run', gan, '--port', '70000', '--max-batch', '0']);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      '--port must be an integer from 0 to 65535, got 70000\n--max-batch must be a positive integer, got 0\n',
    ]);
  });
});
