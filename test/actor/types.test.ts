/**
 * Type-level tests of typed refs: the assertions below are checked by the
 * compiler (`npm run typecheck`, part of `npm test`); each `@ts-expect-error`
 * fails the build if the call it marks ever type-checks. The functions are
 * never run — they only have to compile.
 */
import type { Observable } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import type { BatchReply, DataLoaderProtocol } from '../../actors/data-loader.js';
import type { GeneratorOutput, GeneratorProtocol } from '../../actors/generator.js';
import type { NetworkEvent, NetworkInit, Timed } from '../../actors/network.js';
import type { ParagenSystem, ProtocolOf } from '../../actors/catalog.js';
import type { ActorRef, MethodOf, RequestTable } from '../../src/actor/index.js';
import type { ProbeProtocol } from '../../src/actor/probe.js';

type Generator = ActorRef<GeneratorProtocol, NetworkEvent>;

function calls(generator: Generator, loader: ActorRef<DataLoaderProtocol>): void {
  const noise = new Float32Array(4);
  expectTypeOf(generator.call('forward', { step: 1, noise, seed: 7 })).toEqualTypeOf<Promise<GeneratorOutput>>();
  expectTypeOf(generator.call('discard')).toEqualTypeOf<Promise<void>>();
  expectTypeOf(loader.call('take', { step: 1 })).toEqualTypeOf<Promise<BatchReply>>();
  // @ts-expect-error: `take` is the data loader's request, not the generator's
  void generator.call('take', { step: 1 });
  // @ts-expect-error: `forward` needs its request
  void generator.call('forward');
  // @ts-expect-error: `step` is a number
  void generator.call('forward', { step: '1', noise, seed: 7 });
  // @ts-expect-error: `discard` takes no request
  void generator.call('discard', { step: 1 });
  expectTypeOf(generator.events$).toEqualTypeOf<Observable<NetworkEvent>>();
}

async function spawns(system: ParagenSystem, init: NetworkInit): Promise<void> {
  const generator = await system.spawn('generator', 'generator', init, { worker: 0 });
  expectTypeOf(generator).toEqualTypeOf<Generator>();
  // @ts-expect-error: a generator is built from a NetworkInit, not a probe's init
  await system.spawn('g', 'generator', { label: 'x' }, { worker: 0 });
  // @ts-expect-error: no such kind
  await system.spawn('x', 'critic', init, { worker: 0 });
}

function tables(): void {
  expectTypeOf<MethodOf<DataLoaderProtocol>>().toEqualTypeOf<'take' | 'seek' | 'stats' | 'settled'>();
  expectTypeOf<ProtocolOf<'generator'>>().toEqualTypeOf<GeneratorProtocol>();
  // @ts-expect-error: a request table must name every request of its protocol
  const partial: RequestTable<ProbeProtocol> = { ping: true };
  void partial;
}

describe('typed refs', () => {
  it('are checked by the compiler (npm run typecheck)', () => {
    expectTypeOf(calls).toBeFunction();
    expectTypeOf(spawns).toBeFunction();
    expectTypeOf(tables).toBeFunction();
  });
});
