/**
 * The Kubernetes example (deploy/kubernetes/paragen-cluster.yaml) is real
 * YAML of the kinds it says, and every paragen command line in it is one the
 * CLI accepts: the workers' and the coordinator's flags go through the same
 * parser and validator as a command typed in a shell (with the pod's
 * environment substituted as the kubelet does). Every document also passes
 * the Kubernetes API's own JSON schemas for its kind (kubernetes-models,
 * generated from the API's OpenAPI spec): field names, types, required
 * fields. `kubectl apply --dry-run=client` needs an API server for its
 * discovery, which CI lacks.
 */
import { readFileSync } from 'node:fs';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../src/cli/args.js';
import { parseConfig } from '../../src/run/config.js';

interface Container {
  name: string;
  image: string;
  args: string[];
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { template?: { spec: { containers: Container[] } } };
}

const manifests = parseAllDocuments(readFileSync(new URL('../../deploy/kubernetes/paragen-cluster.yaml', import.meta.url), 'utf8')).map(
  (d) => d.toJS() as Manifest,
);
const POD = { POD_NAME: 'paragen-worker-0', POD_IP: '10.1.2.3' };

function accepted(args: readonly string[]): unknown {
  const [command, ...rest] = args.map((a) => a.replace(/\$\((\w+)\)/g, (_, name: keyof typeof POD) => POD[name]));
  expect(command === 'worker' || command === 'train').toBe(true);
  const parsed = parseCommandArgs(command as 'worker' | 'train', rest);
  expect(parsed.problems.map((p) => p.message)).toEqual([]);
  return parseConfig(parsed.values, 'flags', command as 'worker' | 'train');
}

describe('the Kubernetes example', () => {
  it('holds a NATS Deployment and Service, a worker StatefulSet behind a headless Service, and a coordinator Job', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'Deployment/nats',
      'Service/nats',
      'Service/paragen-worker',
      'StatefulSet/paragen-worker',
      'Job/paragen-train',
    ]);
  });

  it('passes the Kubernetes API schema of its kind, and a broken copy does not', () => {
    const kinds: Record<string, new (data: never) => { validate(): void }> = {
      'apps/v1 Deployment': Deployment,
      'apps/v1 StatefulSet': StatefulSet,
      'batch/v1 Job': Job,
      'v1 Service': Service,
    };
    const model = (m: Manifest) => {
      const Kind = kinds[`${m.apiVersion} ${m.kind}`];
      if (!Kind) throw new Error(`no schema for ${m.apiVersion} ${m.kind}`);
      return new Kind(m as never);
    };
    for (const m of manifests) expect(() => model(m).validate(), `${m.kind}/${m.metadata.name}`).not.toThrow();
    // The schemas bite: a port given as a string is refused.
    const broken = structuredClone(manifests.find((m) => m.kind === 'StatefulSet')!) as unknown as {
      spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } };
    };
    broken.spec.template.spec.containers[0]!.ports[0]!.containerPort = 'seven thousand';
    expect(() => model(broken as unknown as Manifest).validate()).toThrow(/containerPort must be integer/);
  });

  it('runs paragen commands the CLI accepts, the coordinator asking for fewer workers than the StatefulSet has', () => {
    const workers = manifests.find((m) => m.kind === 'StatefulSet')!;
    const job = manifests.find((m) => m.kind === 'Job')!;
    const worker = accepted(workers.spec.template!.spec.containers[0]!.args) as { connect: string; advertise: string };
    expect(worker).toMatchObject({ connect: 'nats://nats:4222', advertise: '10.1.2.3:7000', name: 'paragen-worker-0' });
    const train = accepted(job.spec.template!.spec.containers[0]!.args) as { cluster: string; workers: number; host: string };
    expect(train).toMatchObject({ cluster: 'nats://nats:4222', host: 'process' });
    expect(train.workers).toBeLessThan((workers.spec as { replicas: number }).replicas);
  });
});
