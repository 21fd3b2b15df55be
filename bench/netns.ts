/**
 * Simulated machines for benchmarks: N network namespaces, each with one veth
 * whose egress a `tc tbf` shapes (e.g. 1 gbit), joined by a bridge that lives
 * in a namespace of its own, so nothing is added to the host's own network.
 * Needs root and `ip`; `netnsWorks()` says whether this machine allows it.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export interface Namespaces {
  /** The namespace names, by index. */
  readonly names: readonly string[];
  /** The address of namespace i's interface. */
  readonly addresses: readonly string[];
  remove(): void;
}

function ip(args: readonly string[]): void {
  execFileSync('ip', [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Whether namespaces can be made here (root, `ip` and `tc` present). */
export function netnsWorks(): boolean {
  const name = `pgprobe${process.pid}`;
  const made = spawnSync('ip', ['netns', 'add', name], { stdio: 'ignore' }).status === 0;
  if (!made) return false;
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  return spawnSync('tc', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Makes `count` namespaces on a bridge; each interface's egress limited to `rate` (a tc rate, e.g. '1gbit'). */
export function makeNamespaces(count: number, rate: string): Namespaces {
  const tag = `${process.pid % 100000}`;
  const sw = `pgsw${tag}`;
  const names = Array.from({ length: count }, (_, i) => `pgns${tag}-${i}`);
  // A private 10.x/24 picked from the pid, so two benches at once do not collide (they are separate namespaces anyway).
  const subnet = `10.${200 + (process.pid % 50)}.${process.pid % 250}`;
  const addresses = names.map((_, i) => `${subnet}.${i + 1}`);
  const made: string[] = [];
  const remove = (): void => {
    for (const name of made.reverse()) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    made.length = 0;
  };
  try {
    ip(['netns', 'add', sw]);
    made.push(sw);
    ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    for (const [i, name] of names.entries()) {
      ip(['netns', 'add', name]);
      made.push(name);
      // Both ends are created in the switch namespace, then one moves: no device ever appears in the host's namespace.
      ip(['-n', sw, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', `v${i}`]);
      ip(['-n', sw, 'link', 'set', `v${i}`, 'netns', name]);
      ip(['-n', sw, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      ip(['-n', name, 'link', 'set', 'lo', 'up']);
      ip(['-n', name, 'addr', 'add', `${addresses[i]}/24`, 'dev', `v${i}`]);
      ip(['-n', name, 'link', 'set', `v${i}`, 'up']);
      execFileSync('ip', ['netns', 'exec', name, 'tc', 'qdisc', 'add', 'dev', `v${i}`, 'root', 'tbf', 'rate', rate, 'burst', '256kb', 'latency', '50ms'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    }
  } catch (error) {
    remove();
    throw error;
  }
  return { names, addresses, remove };
}
