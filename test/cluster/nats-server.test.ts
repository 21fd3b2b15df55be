import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_MISSING, natsServerAvailable, startNatsServer, type NatsServer } from '../helpers/nats.js';

const available = natsServerAvailable();
if (!available) console.warn(`skipping nats-server tests: ${NATS_MISSING}`);

describe.skipIf(!available)('test nats-server', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('accepts a client on 127.0.0.1 and relays a request', async () => {
    const nc = await connect({ servers: server.url });
    try {
      const sub = nc.subscribe('echo');
      void (async () => {
        for await (const m of sub) m.respond(`re:${m.string()}`);
      })();
      const reply = await nc.request('echo', 'hi', { timeout: 2000 });
      expect(reply.string()).toBe('re:hi');
      const jsm = await nc.request('$JS.API.INFO', '', { timeout: 2000 });
      expect(jsm.json<{ type: string }>().type).toBe('io.nats.jetstream.api.v1.account_info_response');
    } finally {
      await nc.close();
    }
  });

  it('stops: the port no longer accepts', async () => {
    const other = await startNatsServer();
    await other.stop();
    await expect(connect({ servers: other.url, timeout: 1000, reconnect: false })).rejects.toThrow();
  });
});
