import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, readNpy, writeNpy } from '../../src/data/npy.js';
import { npyWithHeader, tempDir, thrown } from './fixtures.js';

const dir = tempDir();
let serial = 0;

function file(bytes: Uint8Array): string {
  const path = join(dir, `f${serial++}.npy`);
  writeFileSync(path, bytes);
  return path;
}

const header = (descr: string, shape: string, fortran = 'False'): string =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

describe('writeNpy / readNpy', () => {
  it('round-trips uint8 and float32 arrays', () => {
    const u8 = Uint8Array.from({ length: 24 }, (_, i) => i * 10);
    const f32 = Float32Array.from({ length: 24 }, (_, i) => i / 23 - 0.25);
    const pu8 = join(dir, 'u8.npy');
    const pf32 = join(dir, 'f32.npy');
    writeNpy(pu8, u8, [2, 3, 4]);
    writeNpy(pf32, f32, [2, 2, 3, 2]);
    const a = readNpy(pu8);
    const b = readNpy(pf32);
    expect(a.dtype).toBe('uint8');
    expect(a.shape).toEqual([2, 3, 4]);
    expect(Array.from(a.data)).toEqual(Array.from(u8));
    expect(b.dtype).toBe('float32');
    expect(b.shape).toEqual([2, 2, 3, 2]);
    expect(Array.from(b.data)).toEqual(Array.from(f32));
  });

  it('writes the header numpy writes, the data 64-byte aligned', () => {
    const bytes = encodeNpy(new Float32Array(6), [6]);
    const text = new TextDecoder('latin1').decode(bytes.subarray(10, 128));
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    expect(text.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }");
    expect(text.endsWith('\n')).toBe(true);
    expect((bytes.length - 24) % 64).toBe(0);
  });

  it('rejects a shape that does not match the data', () => {
    expect(thrown(() => encodeNpy(new Uint8Array(6), [2, 4]), 'INVALID_VALUE').message).toBe(
      'shape must be non-negative integers whose product is 6, got [2,4]',
    );
  });

  it('reads v2 and v3 headers, big-endian float32 and an unaligned payload', () => {
    const f = Float32Array.of(1.5, -2, 0.25);
    const le = new Uint8Array(f.buffer);
    for (const version of [2, 3]) {
      const a = readNpy(file(npyWithHeader(header('<f4', '(3,)'), le, version)));
      expect(Array.from(a.data)).toEqual([1.5, -2, 0.25]);
    }
    const be = new Uint8Array(12);
    const view = new DataView(be.buffer);
    f.forEach((v, i) => view.setFloat32(4 * i, v, false));
    expect(Array.from(readNpy(file(npyWithHeader(header('>f4', '(3,)'), be))).data)).toEqual([1.5, -2, 0.25]);
    // An old numpy padded headers to 16 bytes, so data can start off a 4-byte boundary.
    const dict = header('<f4', '(3,)');
    const odd = new Uint8Array(10 + dict.length + 2 + 12);
    odd.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
    new DataView(odd.buffer).setUint16(8, dict.length + 2, true);
    for (let i = 0; i < dict.length; i++) odd[10 + i] = dict.charCodeAt(i);
    odd[10 + dict.length] = 0x20;
    odd[11 + dict.length] = 0x0a;
    odd.set(le, 12 + dict.length);
    expect((12 + dict.length) % 4).not.toBe(0);
    expect(Array.from(readNpy(file(odd)).data)).toEqual([1.5, -2, 0.25]);
  });

  it('rejects a file that is not NPY', () => {
    const path = file(new TextEncoder().encode('hello, world'));
    expect(thrown(() => readNpy(path)).message).toBe(`${path}: not an NPY file: it does not start with \\x93NUMPY`);
  });

  it('rejects an unknown format version', () => {
    const bytes = npyWithHeader(header('|u1', '(1,)'), new Uint8Array(1));
    bytes[6] = 4;
    const path = file(bytes);
    expect(thrown(() => readNpy(path)).message).toBe(
      `${path}: unsupported NPY format version 4.0; expected 1.0, 2.0 or 3.0`,
    );
  });

  it('rejects an unsupported dtype, naming it', () => {
    const f8 = file(npyWithHeader(header('<f8', '(1,)'), new Uint8Array(8)));
    expect(thrown(() => readNpy(f8)).message).toBe(
      `${f8}: unsupported dtype '<f8'; expected '|u1' (uint8) or '<f4' (float32)`,
    );
    const bool = file(npyWithHeader(header('|b1', '(1,)'), new Uint8Array(1)));
    expect(thrown(() => readNpy(bool)).message).toBe(
      `${bool}: unsupported dtype '|b1'; expected '|u1' (uint8) or '<f4' (float32)`,
    );
    const structured = file(
      npyWithHeader("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)),
    );
    expect(thrown(() => readNpy(structured)).message).toBe(
      `${structured}: unsupported dtype [('x', '<f4')]; expected '|u1' (uint8) or '<f4' (float32)`,
    );
  });

  it('rejects Fortran order', () => {
    const path = file(npyWithHeader(header('|u1', '(2, 2)', 'True'), new Uint8Array(4)));
    expect(thrown(() => readNpy(path)).message).toBe(
      `${path}: fortran_order is True; only C-order arrays are supported (save np.ascontiguousarray(a) instead)`,
    );
  });

  it('rejects a malformed header', () => {
    const noShape = file(npyWithHeader("{'descr': '|u1', 'fortran_order': False}", new Uint8Array(0)));
    expect(thrown(() => readNpy(noShape)).message).toBe(
      `${noShape}: malformed NPY header: no 'shape' in "{'descr': '|u1', 'fortran_order': False}"`,
    );
    const badDim = file(npyWithHeader(header('|u1', '(2, x)'), new Uint8Array(0)));
    expect(thrown(() => readNpy(badDim)).message).toBe(`${badDim}: malformed NPY header: shape (2, x)`);
  });

  it('rejects truncated data and a truncated header', () => {
    const bytes = encodeNpy(new Uint8Array(100), [10, 10]);
    const path = file(bytes.subarray(0, bytes.length - 30));
    expect(thrown(() => readNpy(path)).message).toBe(`${path}: truncated: expected 228 bytes, found 198`);
    const cut = file(bytes.subarray(0, 40));
    expect(thrown(() => readNpy(cut)).message).toBe(`${cut}: truncated header: expected at least 128 bytes, found 40`);
    const stub = file(bytes.subarray(0, 9));
    expect(thrown(() => readNpy(stub)).message).toBe(`${stub}: truncated header: expected at least 10 bytes, found 9`);
  });
});

const python = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
const hasNumpy = python.status === 0;

const interop = hasNumpy
  ? 'NPY interop with numpy'
  : 'NPY interop with numpy — skipped: python3 with numpy is not installed on this machine';

describe.skipIf(!hasNumpy)(interop, () => {
  function py(script: string): string {
    const run = spawnSync('python3', ['-c', script], { cwd: dir, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    return run.stdout.trim();
  }

  it('writes files numpy reads', () => {
    writeNpy(join(dir, 'ts-u8.npy'), Uint8Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
    writeNpy(join(dir, 'ts-f32.npy'), Float32Array.from({ length: 12 }, (_, i) => i / 4), [1, 2, 3, 2]);
    const out = py(`
import numpy as np
a = np.load('ts-u8.npy'); b = np.load('ts-f32.npy')
assert a.dtype == np.uint8 and a.shape == (2, 3, 4) and (a.ravel() == np.arange(24)).all()
assert b.dtype == np.float32 and b.shape == (1, 2, 3, 2) and (b.ravel() == np.arange(12) / 4).all()
print('ok')`);
    expect(out).toBe('ok');
  });

  it('reads the files numpy writes: v1, v2, v3; and names numpy float64 and Fortran order', () => {
    py(`
import numpy as np
from numpy.lib import format as fmt
a = (np.arange(2 * 3 * 4 * 3) % 256).astype(np.uint8).reshape(2, 3, 4, 3)
np.save('np-u8.npy', a)
b = (np.arange(24, dtype=np.float32) / 24).reshape(2, 3, 4)
for v in [(2, 0), (3, 0)]:
    with open('np-f32-v%d.npy' % v[0], 'wb') as f: fmt.write_array(f, b, version=v)
np.save('np-f8.npy', b.astype(np.float64))
np.save('np-fortran.npy', np.asfortranarray(b))`);
    const a = readNpy(join(dir, 'np-u8.npy'));
    expect(a.dtype).toBe('uint8');
    expect(a.shape).toEqual([2, 3, 4, 3]);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 72 }, (_, i) => i % 256));
    for (const v of [2, 3]) {
      const b = readNpy(join(dir, `np-f32-v${v}.npy`));
      expect(readFileSync(join(dir, `np-f32-v${v}.npy`))[6]).toBe(v);
      expect(b.shape).toEqual([2, 3, 4]);
      expect(Array.from(b.data)).toEqual(Array.from(Float32Array.from({ length: 24 }, (_, i) => i / 24)));
    }
    expect(thrown(() => readNpy(join(dir, 'np-f8.npy'))).message).toContain("unsupported dtype '<f8'");
    expect(thrown(() => readNpy(join(dir, 'np-fortran.npy'))).message).toContain('fortran_order is True');
  });
});
