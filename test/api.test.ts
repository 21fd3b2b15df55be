/**
 * The public API: what `import … from 'paragen'` gives, checked at the type
 * level (by tsc, through `npm test`'s type-check) and at run time through the
 * package's own name, as a consumer imports it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Observable } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as paragen from '../src/index.js';
import { root } from './helpers/cli.js';

describe('public types', () => {
  it('train returns a run with typed events, a summary and stop', () => {
    expectTypeOf<typeof paragen.train>().parameter(0).toEqualTypeOf<paragen.TrainInput>();
    expectTypeOf<paragen.RunConfigInput>().toMatchTypeOf<paragen.TrainInput>();
    expectTypeOf<{ dataset: { images: Uint8Array; shape: [number, 28, 28] } }>().toMatchTypeOf<paragen.TrainInput>();
    expectTypeOf<ReturnType<typeof paragen.train>>().toEqualTypeOf<paragen.Run>();
    expectTypeOf<paragen.Run['events$']>().toMatchTypeOf<Observable<paragen.RunEvent>>();
    expectTypeOf<paragen.Run['events$']>().toMatchTypeOf<AsyncIterable<paragen.RunEvent>>();
    expectTypeOf<paragen.Run['done']>().toEqualTypeOf<Promise<paragen.RunSummary>>();
    expectTypeOf<paragen.Run['stop']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<paragen.RunSummary>().not.toBeAny();
  });

  it('events are a discriminated union on type', () => {
    expectTypeOf<paragen.RunEvent['type']>().toEqualTypeOf<
      'start' | 'step' | 'checkpoint' | 'sample' | 'restart' | 'warning' | 'end' | 'error'
    >();
    expectTypeOf<paragen.EventOf<'step'>>().toEqualTypeOf<paragen.StepEvent>();
    expectTypeOf<paragen.StepEvent['losses']>().toEqualTypeOf<Readonly<Record<string, number>>>();
    expectTypeOf<paragen.RestartEvent['actor']>().toEqualTypeOf<paragen.ActorName>();
    expectTypeOf<paragen.EndEvent['samplesPerSec']>().toEqualTypeOf<number>();
  });

  it('config input is checked: known keys, typed values', () => {
    expectTypeOf<{ model: 'vae-mlp'; epochs: 10 }>().toMatchTypeOf<paragen.RunConfigInput>();
    expectTypeOf<{ modle: 'vae-mlp' }>().not.toMatchTypeOf<paragen.RunConfigInput>();
    expectTypeOf<{ batchSize: '64' }>().not.toMatchTypeOf<paragen.RunConfigInput>();
    expectTypeOf<paragen.RunConfig['batchSize']>().toEqualTypeOf<number>();
    expectTypeOf<paragen.RunConfig['model']>().toEqualTypeOf<paragen.ModelName>();
  });

  it('backends, sampling and evaluation are typed', () => {
    expectTypeOf<typeof paragen.useBackend>().parameter(0).toEqualTypeOf<paragen.BackendChoice | undefined>();
    expectTypeOf<Awaited<ReturnType<typeof paragen.useBackend>>>().toEqualTypeOf<paragen.BackendInfo>();
    expectTypeOf<Awaited<ReturnType<typeof paragen.evaluate>>>().toEqualTypeOf<paragen.Evaluation>();
    expectTypeOf<Awaited<ReturnType<typeof paragen.sample>>>().toEqualTypeOf<paragen.SampleResult>();
    expectTypeOf<Awaited<ReturnType<typeof paragen.bench>>>().toEqualTypeOf<paragen.BenchResult>();
    expectTypeOf<paragen.ParagenError['code']>().toEqualTypeOf<paragen.ErrorCode>();
  });
});

describe("the package's exports map", () => {
  it("resolves 'paragen' to the built API from the project root, as a consumer would", async () => {
    const script =
      "const p = await import('paragen'); console.log(['train','sample','evaluate','bench','useBackend'].filter((k) => typeof p[k] === 'function').join(','));";
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(stdout.trim()).toBe('train,sample,evaluate,bench,useBackend');
  });
});
