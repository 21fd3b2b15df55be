/**
 * `paragen dashboard`: the runs of a folder in the browser (fastify, like
 * the sampling server). Pages are plain HTML with uPlot served from
 * node_modules (no CDN); a run's page follows the run live over
 * Server-Sent Events that tail its metrics.jsonl and samples/.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { formatSvg } from '../bench/svg.js';
import type { BenchResult } from '../bench/types.js';
import { errors } from '../errors.js';
import { METRICS_FILE } from '../run/run-dir.js';
import { benchFiles, isRunName, listRuns, parseMetrics, runDetail } from './dashboard-data.js';
import { benchPage, notFoundPage, runPage, runsPage } from './dashboard-pages.js';

export interface DashboardOptions {
  /** The folder holding run directories. */
  readonly runs: string;
  readonly host: string;
  readonly port: number;
  /** How often a live stream looks for new metrics and grids. */
  readonly pollMs?: number;
  readonly log?: (line: string) => void;
}

export interface Dashboard {
  readonly app: FastifyInstance;
  readonly url: string;
  close(): Promise<void>;
}

const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
const ASSETS: Record<string, string> = { 'uPlot.iife.min.js': 'text/javascript', 'uPlot.min.css': 'text/css' };

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const root = await stat(options.runs).catch(() => undefined);
  if (!root?.isDirectory()) throw errors.badFile(options.runs, root ? 'not a folder of runs (it is a file)' : 'no such folder of runs');
  const pollMs = options.pollMs ?? 500;
  const streams = new Set<() => void>();
  const app = Fastify({
    logger: options.log ? { level: 'info', stream: { write: (line: string) => options.log!(line) } } : false,
    logController: new LogController({ disableRequestLogging: true }),
    // A viewer holds nothing worth waiting for: close ends every connection, live streams and keep-alives alike.
    forceCloseConnections: true,
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(2)) }, 'request');
  });
  const html = (reply: FastifyReply, body: string, code = 200) => reply.code(code).type('text/html; charset=utf-8').send(body);

  app.get('/', async (_request, reply) => html(reply, runsPage(options.runs)));
  // Browsers ask for it on every page: an empty answer, not a 404 in their console.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
  app.get('/api/runs', async () => listRuns(options.runs));
  app.get<{ Params: { name: string } }>('/runs/:name', async (request, reply) => {
    const run = await runDetail(options.runs, request.params.name);
    return run ? html(reply, runPage(run.name)) : html(reply, notFoundPage(`no run ${request.params.name} in ${options.runs}`), 404);
  });
  app.get<{ Params: { name: string } }>('/api/runs/:name', async (request, reply) => {
    const run = await runDetail(options.runs, request.params.name);
    if (!run) return reply.code(404).send({ error: `no run ${request.params.name} in ${options.runs}` });
    return run;
  });
  app.get<{ Params: { name: string; step: string } }>('/runs/:name/samples/:step', async (request, reply) => {
    const { name, step } = request.params;
    if (!isRunName(name) || !/^\d+\.png$/.test(step)) return reply.code(404).send({ error: `no sample grid ${step}` });
    const path = join(options.runs, name, 'samples', step);
    if (!(await stat(path).then((s) => s.isFile(), () => false))) return reply.code(404).send({ error: `no sample grid ${step}` });
    return reply.type('image/png').send(createReadStream(path));
  });
  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const type = ASSETS[request.params.file];
    if (!type) return reply.code(404).send({ error: `no asset ${request.params.file}` });
    return reply.type(type).send(await readFile(join(UPLOT_DIR, request.params.file)));
  });
  app.get('/bench', async (_request, reply) => {
    const files = await benchFiles(options.runs);
    const charts: { name: string; svg: string }[] = [];
    for (const [name, path] of files) {
      try {
        charts.push({ name, svg: formatSvg(JSON.parse(await readFile(path, 'utf8')) as BenchResult) });
      } catch (error) {
        charts.push({ name, svg: `<p class="error">${name}: cannot chart ${path}: ${(error as Error).message}</p>` });
      }
    }
    return html(reply, benchPage(options.runs, charts));
  });

  // The live view: each new metrics line as a `metric` event, each new grid as a `sample`, the state as `state`.
  app.get<{ Params: { name: string }; Querystring: { offset?: string } }>('/api/runs/:name/stream', async (request, reply) => {
    const { name } = request.params;
    const first = await runDetail(options.runs, name);
    if (!first) return reply.code(404).send({ error: `no run ${name} in ${options.runs}` });
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: string, data: unknown) => out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let offset = Number(request.query.offset ?? 0) || 0;
    let samples = new Set(first.samples);
    let state = first.state;
    let busy = false;
    const metrics = join(options.runs, name, METRICS_FILE);
    const poll = async () => {
      if (busy) return;
      busy = true;
      try {
        const size = (await stat(metrics).catch(() => undefined))?.size ?? 0;
        if (size > offset) {
          const file = await open(metrics, 'r');
          try {
            const buffer = Buffer.alloc(size - offset);
            await file.read(buffer, 0, buffer.length, offset);
            // Only whole lines: a line being written is read on the next poll.
            const end = buffer.lastIndexOf(0x0a) + 1;
            for (const record of parseMetrics(buffer.subarray(0, end).toString('utf8'))) send('metric', record);
            offset += end;
          } finally {
            await file.close();
          }
        }
        const grids = (await readdir(join(options.runs, name, 'samples')).catch(() => [] as string[]))
          .map((f) => /^(\d+)\.png$/.exec(f)?.[1])
          .filter((s): s is string => s !== undefined)
          .map(Number)
          .sort((a, b) => a - b);
        for (const step of grids) if (!samples.has(step)) send('sample', { step });
        samples = new Set(grids);
        const now = (await runDetail(options.runs, name))?.state ?? state;
        if (now !== state) send('state', { state: (state = now) });
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void poll().catch(() => undefined), pollMs);
    // A comment now and then keeps proxies from closing a quiet stream.
    const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), 15_000);
    const stop = () => {
      clearInterval(timer);
      clearInterval(heartbeat);
      streams.delete(stop);
      out.end();
    };
    streams.add(stop);
    request.raw.on('close', stop);
    send('hello', { offset });
    void poll();
  });

  app.setNotFoundHandler((request, reply) =>
    request.url.startsWith('/api/')
      ? reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` })
      : html(reply, notFoundPage(`no page ${request.url.split('?')[0]}`), 404),
  );

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    app,
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    async close() {
      for (const stop of [...streams]) stop();
      await app.close();
    },
  };
}
