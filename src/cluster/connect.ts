/**
 * A connection to the cluster's NATS server, with the credentials a user
 * passes through (user/password, token, a `.creds` file, TLS files) and a
 * failure said in one line within seconds: a server that cannot be reached
 * is an error, not a silent retry loop.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { errors } from '../errors.js';

export interface ClusterCredentials {
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** A NATS `.creds` file (a user JWT and its nkey seed). */
  readonly credsFile?: string;
  /** TLS: the CA that signed the server's certificate, and this client's certificate and key. */
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

export interface ClusterConnectOptions extends ClusterCredentials {
  /** The client's name as the server shows it (and puts in `$SYS` disconnect events). */
  readonly name?: string;
  /** How long the first connection may take, ms (default 5000). */
  readonly timeoutMs?: number;
  /**
   * Client-side liveness of the server: a ping every `pingIntervalMs`, the
   * connection given up after `maxPingOut` unanswered (default 2000 × 2).
   */
  readonly pingIntervalMs?: number;
  readonly maxPingOut?: number;
}

/** `nats://host:port` (or several, comma-separated); `tls://` too. */
export function checkNatsUrl(url: string, field: string): string[] {
  const servers = url.split(',').map((s) => s.trim());
  for (const server of servers) {
    if (!/^(nats|tls):\/\/([^@/\s]+@)?[^:/\s]+(:\d{1,5})?$/.test(server)) {
      throw errors.invalidValue(field, 'a NATS URL like nats://HOST:4222', url);
    }
  }
  return servers;
}

function why(error: unknown): string {
  const text = error instanceof Error ? `${error.message} ${String((error as { code?: unknown }).code ?? '')}` : String(error);
  if (/ECONNREFUSED|refused/i.test(text)) return 'connection refused';
  if (/authorization|authentication|AUTHORIZATION/i.test(text)) return 'authorization failed (check the user, password, token or creds file)';
  if (/ENOTFOUND|EAI_AGAIN/i.test(text)) return 'host name not found';
  if (/timeout|TIMEOUT/i.test(text)) return 'no answer within the connect timeout';
  if (/tls|certificate|SSL/i.test(text)) return 'TLS handshake failed (check the TLS files)';
  return 'connection failed';
}

function readFile(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw errors.badFile(path, `cannot read the ${field} file`);
  }
}

export async function connectCluster(url: string, options: ClusterConnectOptions = {}): Promise<NatsConnection> {
  const servers = checkNatsUrl(url, 'cluster');
  const config: NodeConnectionOptions = {
    servers,
    name: options.name,
    timeout: options.timeoutMs ?? 5000,
    pingInterval: options.pingIntervalMs ?? 2000,
    maxPingOut: options.maxPingOut ?? 2,
    // After the first connection, ride out a server restart rather than end the worker.
    maxReconnectAttempts: -1,
  };
  if (options.user !== undefined) config.user = options.user;
  if (options.password !== undefined) config.pass = options.password;
  if (options.token !== undefined) config.token = options.token;
  if (options.credsFile !== undefined) {
    config.authenticator = credsAuthenticator(new TextEncoder().encode(readFile(options.credsFile, 'creds')));
  }
  if (options.tlsCa !== undefined || options.tlsCert !== undefined || options.tlsKey !== undefined) {
    for (const [path, what] of [[options.tlsCa, 'TLS CA'], [options.tlsCert, 'TLS certificate'], [options.tlsKey, 'TLS key']] as const) {
      if (path !== undefined) readFile(path, what);
    }
    config.tls = { caFile: options.tlsCa, certFile: options.tlsCert, keyFile: options.tlsKey };
  }
  try {
    return await connect(config);
  } catch (error) {
    throw errors.clusterUnreachable(url.replace(/\/\/[^@/]*@/, '//'), why(error));
  }
}
