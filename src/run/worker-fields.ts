/**
 * The settings of `paragen worker` and of `train --cluster`, as rows of the one settings table
 * (`FIELDS` spreads them in), so flags, help and types come from one place.
 */
const HOST_PORT = /^(?:\[[^\]]+\]|[^:[\]\s]+):\d{1,5}$/;
const NATS_URL = /^(nats|tls):\/\/([^@/\s]+@)?[^:/\s]+(:\d{1,5})?(,(nats|tls):\/\/([^@/\s]+@)?[^:/\s]+(:\d{1,5})?)*$/;

export const WORKER_FIELDS = {
  connect: {
    kind: 'string', flag: '--connect', commands: ['worker'], required: ['worker'], placeholder: 'nats://HOST:PORT',
    format: { expected: 'a NATS URL like nats://HOST:4222', test: (value: string) => NATS_URL.test(value) },
    help: 'the NATS server of the cluster',
  },
  name: {
    kind: 'string', flag: '--name', commands: ['worker'], placeholder: '<name>', defaultText: 'the host name and pid',
    help: 'how the coordinator and the events name this worker',
  },
  advertise: {
    kind: 'string', flag: '--advertise', commands: ['worker'], placeholder: 'HOST:PORT', defaultText: 'the --listen address',
    format: { expected: 'HOST:PORT', test: (value: string) => HOST_PORT.test(value) },
    help: 'where other workers reach its tensor port (open it in the firewall)',
  },
  tensorListen: {
    kind: 'string', flag: '--listen', commands: ['worker'], placeholder: 'HOST:PORT', defaultText: 'the --advertise address, else 127.0.0.1:0',
    format: { expected: 'HOST:PORT', test: (value: string) => HOST_PORT.test(value) },
    help: 'the only address its tensor port listens on',
  },
  cluster: {
    kind: 'string', flag: '--cluster', commands: ['train'], placeholder: 'nats://HOST:PORT',
    format: { expected: 'a NATS URL like nats://HOST:4222', test: (value: string) => NATS_URL.test(value) },
    help: "run the actors on the cluster's `paragen worker`s (one per --workers), through this NATS server",
  },
  clusterWait: {
    kind: 'int', flag: '--cluster-wait', min: 1, commands: ['train'], placeholder: '<seconds>', defaultText: '30',
    help: 'seconds to wait for the cluster\'s workers, and for a replacement after a lost one',
  },
  minWorkers: {
    kind: 'int', flag: '--min-workers', min: 1, commands: ['train'], placeholder: '<n>', defaultText: '--workers (no shrinking)',
    help: 'machines a cluster run may shrink to when a lost worker has no replacement within --cluster-wait',
  },
  natsUser: { kind: 'string', flag: '--nats-user', commands: ['worker', 'train'], placeholder: '<user>', help: 'NATS user name' },
  natsPassword: { kind: 'string', flag: '--nats-password', commands: ['worker', 'train'], placeholder: '<password>', help: 'NATS password' },
  natsToken: { kind: 'string', flag: '--nats-token', commands: ['worker', 'train'], placeholder: '<token>', help: 'NATS token' },
  natsCreds: { kind: 'string', flag: '--nats-creds', commands: ['worker', 'train'], placeholder: '<file>', help: 'a NATS .creds file' },
  tlsCa: { kind: 'string', flag: '--tls-ca', commands: ['worker', 'train'], placeholder: '<file>', help: 'CA certificate of the NATS server' },
  tlsCert: { kind: 'string', flag: '--tls-cert', commands: ['worker', 'train'], placeholder: '<file>', help: 'client certificate for NATS' },
  tlsKey: { kind: 'string', flag: '--tls-key', commands: ['worker', 'train'], placeholder: '<file>', help: 'client key for NATS' },
} as const;
