/**
 * NumPy's `.npy` format, for uint8 and float32 arrays in C order: the magic
 * `\x93NUMPY`, a version, a header length (uint16 in v1, uint32 in v2/v3), a
 * Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (…), }`
 * padded with spaces to a multiple of 64 bytes, then the data.
 * See https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */

import { writeFileSync } from 'node:fs';
import { errors } from '../errors.js';
import { checkSize, readFileBytes, type FileBytes } from './files.js';

/** An array read from or written to a `.npy` file. */
export type NpyArray =
  | { readonly dtype: 'uint8'; readonly shape: readonly number[]; readonly data: Uint8Array }
  | { readonly dtype: 'float32'; readonly shape: readonly number[]; readonly data: Float32Array };

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads a `.npy` file holding uint8 (`|u1`) or float32 (`<f4`, `>f4`) data in C order. */
export function readNpy(file: string): NpyArray {
  return decodeNpy(readFileBytes(file), file);
}

/** Decodes `.npy` bytes (a file's, or a request body's); `file` names them in error messages. */
export function decodeNpy(contents: FileBytes, file: string): NpyArray {
  const { bytes } = contents;
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw errors.badFile(file, 'not an NPY file: it does not start with \\x93NUMPY');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) {
    throw errors.badFile(file, `unsupported NPY format version ${major}.${minor}; expected 1.0, 2.0 or 3.0`);
  }
  const lengthBytes = major === 1 ? 2 : 4;
  const prefix = 8 + lengthBytes;
  if (bytes.length < prefix) {
    throw errors.badFile(file, `truncated header: expected at least ${prefix} bytes, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = prefix + headerLength;
  if (bytes.length < dataStart) {
    throw errors.badFile(file, `truncated header: expected at least ${dataStart} bytes, found ${bytes.length}`);
  }
  // v3 differs from v2 only in allowing UTF-8 in the header (for structured field names).
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(prefix, dataStart));
  const header = parseHeader(file, text);
  const elements = header.shape.reduce((a, b) => a * b, 1);
  checkSize(file, contents, dataStart + elements * header.itemSize);
  const payload = bytes.subarray(dataStart, dataStart + elements * header.itemSize);
  if (header.dtype === 'uint8') return { dtype: 'uint8', shape: header.shape, data: payload };
  return { dtype: 'float32', shape: header.shape, data: toFloat32(payload, header.littleEndian) };
}

/**
 * Writes `data` with `shape` as a version 1.0 `.npy` file (2.0 when the header
 * would not fit in 64 KiB), the way `numpy.save` does, so `numpy.load` reads it.
 */
export function writeNpy(path: string, data: Float32Array | Uint8Array, shape: readonly number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}

/** The bytes `writeNpy` writes. */
export function encodeNpy(data: Float32Array | Uint8Array, shape: readonly number[]): Uint8Array {
  const elements = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || elements !== data.length) {
    throw errors.invalidValue('shape', `non-negative integers whose product is ${data.length}`, shape);
  }
  const descr = data instanceof Uint8Array ? '|u1' : '<f4';
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  let major = 1;
  let prefix = 10;
  if (padded(dict.length + 1, prefix) > 0xffff) {
    major = 2;
    prefix = 12;
  }
  const headerLength = padded(dict.length + 1, prefix);
  const header = dict.padEnd(headerLength - 1, ' ') + '\n';
  const out = new Uint8Array(prefix + headerLength + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  if (data instanceof Float32Array && !LITTLE_ENDIAN_HOST) {
    const body = new DataView(out.buffer, prefix + headerLength);
    for (let i = 0; i < data.length; i++) body.setFloat32(4 * i, data[i]!, true);
  } else {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + headerLength);
  }
  return out;
}

/** Header length (dict plus newline, padded) that puts the data on a 64-byte boundary. */
function padded(length: number, prefix: number): number {
  return Math.ceil((prefix + length) / ALIGN) * ALIGN - prefix;
}

interface Header {
  readonly dtype: 'uint8' | 'float32';
  readonly itemSize: number;
  readonly littleEndian: boolean;
  readonly shape: readonly number[];
}

const DTYPES: ReadonlyMap<string, Omit<Header, 'shape'>> = new Map([
  ['|u1', { dtype: 'uint8', itemSize: 1, littleEndian: true }],
  ['<u1', { dtype: 'uint8', itemSize: 1, littleEndian: true }],
  ['>u1', { dtype: 'uint8', itemSize: 1, littleEndian: true }],
  ['u1', { dtype: 'uint8', itemSize: 1, littleEndian: true }],
  ['<f4', { dtype: 'float32', itemSize: 4, littleEndian: true }],
  ['>f4', { dtype: 'float32', itemSize: 4, littleEndian: false }],
]);

/**
 * Reads the three keys numpy writes from the header's dict literal. A small
 * pattern match rather than a Python parser: numpy always writes this form.
 */
function parseHeader(file: string, text: string): Header {
  const descr = /['"]descr['"]\s*:\s*('[^']*'|"[^"]*"|\[.*\])/s.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    const missing = descr === undefined ? 'descr' : fortran === undefined ? 'fortran_order' : 'shape';
    throw errors.badFile(file, `malformed NPY header: no '${missing}' in ${JSON.stringify(text.trim())}`);
  }
  const dtype = DTYPES.get(descr.slice(1, -1));
  if (descr.startsWith('[') || dtype === undefined) {
    throw errors.badFile(file, `unsupported dtype ${descr}; expected '|u1' (uint8) or '<f4' (float32)`);
  }
  if (fortran === 'True') {
    throw errors.badFile(
      file,
      'fortran_order is True; only C-order arrays are supported (save np.ascontiguousarray(a) instead)',
    );
  }
  const shape: number[] = [];
  for (const part of shapeText.split(',')) {
    const dim = part.trim().replace(/L$/, ''); // Python 2 wrote longs as 60000L
    if (dim === '') continue;
    if (!/^\d+$/.test(dim)) throw errors.badFile(file, `malformed NPY header: shape (${shapeText})`);
    shape.push(Number(dim));
  }
  return { ...dtype, shape };
}

function toFloat32(payload: Uint8Array, littleEndian: boolean): Float32Array {
  const count = payload.byteLength / 4;
  if (littleEndian === LITTLE_ENDIAN_HOST) {
    // A view needs 4-byte alignment; numpy aligns data to 64 bytes but the Buffer may not be.
    if (payload.byteOffset % 4 === 0) return new Float32Array(payload.buffer, payload.byteOffset, count);
    return new Float32Array(payload.slice().buffer);
  }
  const out = new Float32Array(count);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, littleEndian);
  return out;
}
