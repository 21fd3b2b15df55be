/** A probe on worker 0 of `system` whose host process is SIGSTOPped: what its next call rejects with, and how soon. */
import type { ParagenSystem } from '../../actors/catalog.js';

export async function stopUnderProbe(system: ParagenSystem): Promise<{ error: unknown; ms: number; pid: number }> {
  const probe = await system.spawn('p', 'probe', { label: 'p' }, { worker: 0 });
  const { pid } = await probe.call('info');
  const started = Date.now();
  process.kill(pid, 'SIGSTOP');
  const error = await probe.call('ping').then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started, pid };
}
