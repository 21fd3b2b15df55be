/**
 * A real `nats-server` for tests: started on 127.0.0.1 with a free port (and
 * JetStream in a temporary store when asked), awaited until it accepts a TCP
 * connection, stopped by `stop()`. `natsServerAvailable()` says whether the
 * binary is here, so tests that need it can `describe.skipIf` with a reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_MISSING = 'nats-server is not installed (apt-get install -y nats-server; .ci/run does it)';

/** Debian puts the server in /usr/sbin, which a non-root PATH often lacks. */
const BINARY = ['nats-server', '/usr/sbin/nats-server'].find(
  (bin) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).status === 0,
);

export function natsServerAvailable(): boolean {
  return BINARY !== undefined;
}

export interface NatsServerOptions {
  /** Start with JetStream (`-js`) in a temporary store directory. */
  readonly jetstream?: boolean;
  /** Extra lines of a server configuration file (accounts, ping_interval, ...). */
  readonly config?: string;
}

export interface NatsServer {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  /** The server's stderr so far (its log). */
  log(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'paragen-nats-'));
  // Another test may take the port between freePort and the server's bind: retry on a fresh one.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['-a', '127.0.0.1', '-p', String(port)];
    if (options.jetstream) args.push('-js', '-sd', join(dir, 'js'));
    if (options.config !== undefined) {
      const file = join(dir, 'server.conf');
      writeFileSync(file, options.config);
      args.push('-c', file);
    }
    if (BINARY === undefined) throw new Error(NATS_MISSING);
    const child = spawn(BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await accepts(port))) await new Promise((r) => setTimeout(r, 50));
    if (exited || Date.now() >= deadline) {
      child.kill('SIGKILL');
      await exit;
      if (attempt < 4 && /address already in use/i.test(log)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nats-server did not start on port ${port}: ${log.trim().split('\n').pop() ?? ''}`);
    }
    return {
      port,
      url: `nats://127.0.0.1:${port}`,
      process: child,
      log: () => log,
      stop: async () => {
        if (!exited) child.kill('SIGTERM');
        await exit;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error('nats-server: no free port after 5 tries');
}
