import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { ParagenError } from '../../src/errors.js';
import {
  loadConfigFile,
  mergeConfig,
  parseConfig,
  serializeConfig,
  validateValues,
  valueFromFlag,
} from '../../src/run/config.js';
import { parseFault } from '../../src/domain.js';
import { COMMANDS, FIELD_NAMES, FIELDS, field, fieldsOf, type BenchConfig, type EvalConfig, type InfoConfig, type RunConfig, type RunConfigInput, type SampleConfig } from '../../src/run/config-schema.js';
import { editDistance, suggest } from '../../src/run/suggest.js';

/** The message of the error `fn` throws (and checks it is a usage error). */
function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ParagenError);
    expect((error as ParagenError).exitCode).toBe(2);
    return (error as ParagenError).message;
  }
  throw new Error('expected an error');
}

async function fileProblem(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ParagenError);
    expect((error as ParagenError).exitCode).toBe(2);
    return (error as ParagenError).message;
  }
  throw new Error('expected an error');
}

describe('the config types are computed from the table', () => {
  it('RunConfig has every train field, defaults filled in', () => {
    expectTypeOf<RunConfig>().toEqualTypeOf<{
      model: 'dcgan' | 'dcgan-small' | 'vae-mlp' | 'vae-conv';
      dataset: string;
      epochs?: number;
      steps?: number;
      batchSize: number;
      lr: number;
      beta1: number;
      ema: number;
      seed: number;
      backend: 'auto' | 'gpu' | 'webgpu' | 'native' | 'wasm' | 'cpu';
      strategy: 'auto' | 'single' | 'data' | 'model' | 'pipeline';
      workers?: number;
      microbatches: number;
      schedule: 'gpipe' | '1f1b';
      host: 'thread' | 'process';
      out?: string;
      json: boolean;
      checkpointEvery: number;
      keep: number;
      resume?: string;
      onNan: 'stop' | 'skip';
      sampleEvery: number;
      maxRestarts: number;
      snapshotEvery: number;
      prefetch: number;
      fault?: string;
      dashboard?: number;
      cluster?: string;
      clusterWait?: number;
      minWorkers?: number;
      natsUser?: string;
      natsPassword?: string;
      natsToken?: string;
      natsCreds?: string;
      tlsCa?: string;
      tlsCert?: string;
      tlsKey?: string;
    }>();
  });

  it('the input type makes every field optional and the other commands get their own fields', () => {
    expectTypeOf<RunConfigInput>().toEqualTypeOf<Partial<RunConfig>>();
    expectTypeOf<SampleConfig>().toEqualTypeOf<{
      seed: number;
      backend: 'auto' | 'gpu' | 'webgpu' | 'native' | 'wasm' | 'cpu';
      workers?: number;
      out?: string;
      json: boolean;
      run: string;
      n: number;
    }>();
    expectTypeOf<EvalConfig>().toEqualTypeOf<{
      seed: number;
      backend: 'auto' | 'gpu' | 'webgpu' | 'native' | 'wasm' | 'cpu';
      json: boolean;
      run: string;
      weights: 'ema' | 'trained';
    }>();
    expectTypeOf<InfoConfig>().toEqualTypeOf<{ backend: 'auto' | 'gpu' | 'webgpu' | 'native' | 'wasm' | 'cpu'; json: boolean }>();
    expectTypeOf<BenchConfig['models']>().toEqualTypeOf<('dcgan' | 'dcgan-small' | 'vae-mlp' | 'vae-conv')[]>();
    expectTypeOf<BenchConfig['workerCounts']>().toEqualTypeOf<number[]>();
    expectTypeOf(parseConfig({ run: 'runs/a' }, 'api', 'sample')).toEqualTypeOf<SampleConfig>();
    expectTypeOf(parseConfig({})).toEqualTypeOf<RunConfig>();
  });
});

describe('the schema table', () => {
  it('gives each field a kebab-case flag of its name (bench --workers is workerCounts, serve --host is listen, worker --listen is tensorListen)', () => {
    const spelled: Record<string, string> = { workerCounts: '--workers', listen: '--host', tensorListen: '--listen' };
    for (const name of FIELD_NAMES) {
      const kebab = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      expect(field(name).flag).toBe(spelled[name] ?? kebab);
    }
  });

  it('never gives one command two fields with the same flag', () => {
    for (const command of COMMANDS) {
      const flags = fieldsOf(command).map((name) => field(name).flag);
      expect(new Set(flags).size).toBe(flags.length);
    }
  });

  it('has defaults that pass their own validation', () => {
    for (const command of COMMANDS) {
      const input = command === 'sample' || command === 'eval' || command === 'serve' ? { run: 'runs/x' } : command === 'worker' ? { connect: 'nats://127.0.0.1:4222' } : {};
      const config = parseConfig(input, 'api', command);
      expect(parseConfig(config, 'api', command)).toEqual(config);
    }
  });
});

describe('parseConfig', () => {
  it('fills in defaults, with the learning rate and beta1 of the model family (and dcgan-small its own)', () => {
    const gan = parseConfig({});
    expect(gan).toMatchObject({ model: 'dcgan-small', dataset: 'mnist', epochs: 2, lr: 1.6e-3, beta1: 0, batchSize: 32, seed: 0 });
    expect(parseConfig({ model: 'dcgan' })).toMatchObject({ lr: 2e-4, beta1: 0.5, batchSize: 64 });
    expect(gan.steps).toBeUndefined();
    const vae = parseConfig({ model: 'vae-mlp', steps: 100 });
    expect(vae).toMatchObject({ lr: 1e-3, beta1: 0.9, batchSize: 128, steps: 100 });
    expect(vae.epochs).toBeUndefined();
    expect(parseConfig({ model: 'vae-mlp', lr: 5e-4 }).lr).toBe(5e-4);
  });

  it("keeps a moving average of dcgan-small's generator by default, of no other model's, and refuses one for a VAE", () => {
    expect(parseConfig({}).ema).toBe(0.999);
    expect(parseConfig({ model: 'dcgan' }).ema).toBe(0);
    expect(parseConfig({ model: 'dcgan', ema: 0.99 }).ema).toBe(0.99);
    expect(parseConfig({ model: 'vae-mlp' }).ema).toBe(0);
    expect(problem(() => parseConfig({ model: 'vae-mlp', ema: 0.99 }))).toBe(
      "ema must be 0 for vae-mlp (only a GAN's generator keeps a moving average), got 0.99",
    );
    expect(problem(() => parseConfig({ ema: 1 }))).toMatch(/^ema must be .*, got 1$/);
  });

  it('says what is wrong with a value', () => {
    expect(problem(() => parseConfig({ batchSize: -3 }))).toBe('batchSize must be a positive integer, got -3');
    expect(problem(() => parseConfig({ batchSize: 1.5 }))).toBe('batchSize must be a positive integer, got 1.5');
    expect(problem(() => parseConfig({ batchSize: '128' }))).toBe("batchSize must be a positive integer, got '128'");
    expect(problem(() => parseConfig({ lr: 0 }))).toBe('lr must be a positive number, got 0');
    expect(problem(() => parseConfig({ lr: Number.NaN }))).toBe('lr must be a positive number, got NaN');
    expect(problem(() => parseConfig({ beta1: 1 }))).toBe('beta1 must be a number in [0, 1), got 1');
    expect(problem(() => parseConfig({ seed: -1 }))).toBe('seed must be an integer from 0 to 4294967295, got -1');
    expect(problem(() => parseConfig({ keep: 0 }))).toBe('keep must be a positive integer, got 0');
    expect(problem(() => parseConfig({ maxRestarts: -1 }))).toBe('maxRestarts must be a non-negative integer, got -1');
    expect(problem(() => parseConfig({ json: 'yes' }))).toBe("json must be true or false, got 'yes'");
    expect(problem(() => parseConfig({ dataset: '' }))).toBe("dataset must be a non-empty string, got ''");
    expect(problem(() => parseConfig({ model: 'dcgn' }))).toBe(
      "model must be one of 'dcgan', 'dcgan-small', 'vae-mlp', 'vae-conv', got 'dcgn'",
    );
    expect(problem(() => parseConfig({ backend: 'cuda' }))).toBe(
      "backend must be one of 'auto', 'gpu', 'webgpu', 'native', 'wasm', 'cpu', got 'cuda'",
    );
    expect(problem(() => parseConfig({ schedule: 'zb' }))).toBe("schedule must be one of 'gpipe', '1f1b', got 'zb'");
    expect(problem(() => parseConfig({ onNan: 'ignore' }))).toBe("onNan must be one of 'stop', 'skip', got 'ignore'");
    expect(problem(() => parseConfig({ host: 'vm' }))).toBe("host must be one of 'thread', 'process', got 'vm'");
    expect(problem(() => parseConfig({ strategy: 'tensor' }))).toBe(
      "strategy must be one of 'auto', 'single', 'data', 'model', 'pipeline', got 'tensor'",
    );
    expect(problem(() => parseConfig({ models: [] }, 'api', 'bench'))).toBe(
      "models must be a non-empty list of 'dcgan', 'dcgan-small', 'vae-mlp', 'vae-conv', got []",
    );
    expect(problem(() => parseConfig({ workerCounts: [1, 0] }, 'api', 'bench'))).toBe(
      'workerCounts must be a non-empty list of positive integers, got [1,0]',
    );
  });

  it('checks the format of --fault and that its actor belongs to the model', () => {
    const expected = "'crash:<actor>@<step>' with <actor> one of dataLoader, generator, discriminator, encoder, decoder";
    expect(problem(() => parseConfig({ fault: 'boom' }))).toBe(`fault must be ${expected}, got 'boom'`);
    expect(problem(() => parseConfig({ fault: 'crash:critic@3' }))).toBe(`fault must be ${expected}, got 'crash:critic@3'`);
    expect(problem(() => parseConfig({ fault: 'crash:generator@-1' }))).toBe(
      `fault must be ${expected}, got 'crash:generator@-1'`,
    );
    expect(problem(() => parseConfig({ model: 'vae-mlp', fault: 'crash:generator@20' }))).toBe(
      "fault must be a crash of an actor of vae-mlp (dataLoader, encoder, decoder), got 'crash:generator@20'",
    );
    expect(parseConfig({ fault: 'crash:generator@20' }).fault).toBe('crash:generator@20');
    expect(parseFault('crash:dataLoader@0')).toEqual({ kind: 'crash', actor: 'dataLoader', step: 0 });
    expect(parseFault('crash:nobody@0')).toBeUndefined();
  });

  it('rejects contradictory settings', () => {
    expect(problem(() => parseConfig({ epochs: 3, steps: 100 }))).toBe(
      'epochs and steps cannot both be set, got epochs 3 and steps 100',
    );
    expect(problem(() => parseConfig({ strategy: 'single', workers: 2 }))).toBe(
      "workers must be 1 for strategy 'single' (every actor on one worker), got 2",
    );
    expect(problem(() => parseConfig({ strategy: 'model', workers: 1 }))).toBe(
      "workers must be 2 for strategy 'model' (one worker per network), got 1",
    );
    expect(problem(() => parseConfig({ strategy: 'pipeline', batchSize: 4, microbatches: 8 }))).toBe(
      'microbatches must be at most batchSize (4), got 8',
    );
  });

  it('rejects unknown keys, suggesting a near one', () => {
    expect(problem(() => parseConfig({ modle: 'dcgan' }))).toBe("unknown key 'modle' (did you mean 'model'?)");
    expect(problem(() => parseConfig({ batch_size: 8 }))).toBe("unknown key 'batch_size' (did you mean 'batchSize'?)");
    expect(problem(() => parseConfig({ learningRate: 1 }))).toBe("unknown key 'learningRate'");
    expect(problem(() => parseConfig({ n: 4 }))).toBe("key 'n' does not apply to train");
    expect(problem(() => parseConfig({ constructor: 1 }))).toBe("unknown key 'constructor'");
  });

  it('reports every problem at once, one per line', () => {
    expect(problem(() => parseConfig({ batchSize: -3, modle: 'x', lr: -1 }))).toBe(
      [
        'batchSize must be a positive integer, got -3',
        "unknown key 'modle' (did you mean 'model'?)",
        'lr must be a positive number, got -1',
      ].join('\n'),
    );
  });

  it('requires --run for sample and eval', () => {
    expect(problem(() => parseConfig({}, 'api', 'sample'))).toBe('run is required (--run <dir>)');
    expect(problem(() => parseConfig({ n: 0 }, 'api', 'sample'))).toBe('n must be a positive integer, got 0');
    expect(parseConfig({ run: 'runs/a' }, 'api', 'eval')).toEqual({ run: 'runs/a', seed: 0, backend: 'auto', json: false, weights: 'ema' });
  });

  it('rejects an input that is not an object', () => {
    expect(problem(() => parseConfig([1]))).toBe('config must be an object of settings, got [1]');
    expect(problem(() => parseConfig(null))).toBe('config must be an object of settings, got null');
  });

  it('ignores keys whose value is undefined (an API caller spreading optional settings)', () => {
    expect(parseConfig({ lr: undefined, model: 'vae-mlp' }).lr).toBe(1e-3);
  });

  it('round-trips through config.json unchanged', () => {
    const config = parseConfig({ model: 'vae-conv', steps: 30, fault: 'crash:decoder@3', out: 'runs/x' });
    const text = serializeConfig(config);
    expect(Object.keys(JSON.parse(text))[0]).toBe('model');
    expect(parseConfig(JSON.parse(text))).toEqual(config);
  });
});

describe('flags and files', () => {
  it('turns flag text into typed values, keeping unparseable text for the message', () => {
    expect(valueFromFlag(FIELDS.batchSize, '-3')).toBe(-3);
    expect(valueFromFlag(FIELDS.lr, '1e-3')).toBe(1e-3);
    expect(valueFromFlag(FIELDS.lr, 'fast')).toBe('fast');
    expect(valueFromFlag(FIELDS.json, true)).toBe(true);
    expect(valueFromFlag(FIELDS.json, 'false')).toBe(false);
    expect(valueFromFlag(FIELDS.workerCounts, '1, 2,4')).toEqual([1, 2, 4]);
    expect(valueFromFlag(FIELDS.workerCounts, '1,x')).toBe('1,x');
    expect(valueFromFlag(FIELDS.models, 'vae-mlp,dcgan')).toEqual(['vae-mlp', 'dcgan']);
  });

  it('lets flags override the file, a flag replacing the other of an exclusive pair', () => {
    const merged = mergeConfig({ model: 'vae-mlp', epochs: 10, lr: 1e-4 }, { steps: 50, lr: 3e-4 });
    expect(merged).toEqual({ model: 'vae-mlp', steps: 50, lr: 3e-4 });
    expect(parseConfig(merged)).toMatchObject({ model: 'vae-mlp', steps: 50, lr: 3e-4 });
    expect(parseConfig(merged).epochs).toBeUndefined();
    // Both given as flags is still a conflict.
    expect(problem(() => parseConfig(mergeConfig({ epochs: 10 }, { epochs: 2, steps: 3 })))).toBe(
      'epochs and steps cannot both be set, got epochs 2 and steps 3',
    );
  });

  it('validates values on their own without applying defaults', () => {
    expect(validateValues({ lr: 0.1 }, 'flags')).toEqual({ values: { lr: 0.1 }, problems: [] });
  });

  describe('loadConfigFile', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'paragen-config-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads JSON and YAML', async () => {
      const json = join(dir, 'run.json');
      await writeFile(json, JSON.stringify({ model: 'vae-mlp', epochs: 2 }));
      expect(await loadConfigFile(json)).toEqual({ model: 'vae-mlp', epochs: 2 });
      for (const ext of ['yaml', 'yml']) {
        const yaml = join(dir, `run.${ext}`);
        await writeFile(yaml, 'model: dcgan\nsteps: 20\nlr: 1.0e-4\nmodels: [vae-mlp, dcgan]\n');
        expect(await loadConfigFile(yaml)).toEqual({ model: 'dcgan', steps: 20, lr: 1e-4, models: ['vae-mlp', 'dcgan'] });
      }
      const empty = join(dir, 'empty.yaml');
      await writeFile(empty, '');
      expect(await loadConfigFile(empty)).toEqual({});
    });

    it('names the file in every problem', async () => {
      const path = join(dir, 'bad.yaml');
      await writeFile(path, 'batchSize: -3\nmodle: dcgan\n');
      expect(await fileProblem(() => loadConfigFile(path))).toBe(
        `${path}: batchSize must be a positive integer, got -3\n${path}: unknown key 'modle' (did you mean 'model'?)`,
      );
      const list = join(dir, 'list.json');
      await writeFile(list, '[1, 2]');
      expect(await fileProblem(() => loadConfigFile(list))).toBe(`${list}: config must be an object of settings, got [1,2]`);
    });

    it('reports unreadable, malformed and unsupported files', async () => {
      const missing = join(dir, 'missing.json');
      expect(await fileProblem(() => loadConfigFile(missing))).toBe(`${missing}: cannot read: no such file`);
      const broken = join(dir, 'broken.json');
      await writeFile(broken, '{"model": ');
      expect(await fileProblem(() => loadConfigFile(broken))).toMatch(
        new RegExp(`^${broken.replace(/[.]/g, '\\.')}: invalid JSON: .+$`),
      );
      const brokenYaml = join(dir, 'broken.yaml');
      await writeFile(brokenYaml, 'model: [dcgan\n');
      expect(await fileProblem(() => loadConfigFile(brokenYaml))).toMatch(/broken\.yaml: invalid YAML: .+$/);
      const toml = join(dir, 'run.toml');
      await writeFile(toml, 'model = "dcgan"');
      expect(await fileProblem(() => loadConfigFile(toml))).toBe(
        `${toml}: unsupported config file type '.toml' (use .json, .yaml or .yml)`,
      );
    });
  });
});

describe('suggest', () => {
  it('measures edit distance and suggests only near candidates', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(suggest('modle', ['model', 'seed'])).toBe('model');
    expect(suggest('checkpoint_every', ['checkpointEvery'])).toBe('checkpointEvery');
    expect(suggest('zzz', ['model'])).toBeUndefined();
  });
});
