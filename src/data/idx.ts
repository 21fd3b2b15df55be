/**
 * The IDX format of MNIST and its relatives (Fashion-MNIST, KMNIST, EMNIST):
 * a big-endian header — magic number 0x0000TTDD (TT the element type, DD the
 * number of dimensions), then one uint32 size per dimension — and the data.
 * Only uint8 data is read, which is what every one of those datasets ships.
 * See http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE MNIST DATABASE").
 */

import { existsSync } from 'node:fs';
import { errors } from '../errors.js';
import { checkSize, readFileBytes } from './files.js';

/** Images from an IDX3 file, row-major, one byte per pixel. */
export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** `count × rows × cols` bytes; a view into the file's buffer, not a copy. */
  readonly pixels: Uint8Array;
}

/** Labels from an IDX1 file. */
export interface IdxLabels {
  readonly count: number;
  readonly labels: Uint8Array;
}

/** Magic number of IDX uint8 images (3 dimensions). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of IDX uint8 labels (1 dimension). */
export const IDX_LABELS_MAGIC = 0x00000801;

const UINT8 = 0x08;
const TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x08, 'uint8'],
  [0x09, 'int8'],
  [0x0b, 'int16'],
  [0x0c, 'int32'],
  [0x0d, 'float32'],
  [0x0e, 'float64'],
]);

/** Reads an IDX3 file of uint8 images, plain or gzipped. */
export function readIdxImages(file: string): IdxImages {
  const { sizes, data } = readIdx(file, 3, 'uint8 images');
  const [count, rows, cols] = sizes as [number, number, number];
  if (rows === 0 || cols === 0) throw errors.badFile(file, `image size ${rows}×${cols} has no pixels`);
  return { count, rows, cols, pixels: data };
}

/** Reads an IDX1 file of uint8 labels, plain or gzipped. */
export function readIdxLabels(file: string): IdxLabels {
  const { sizes, data } = readIdx(file, 1, 'uint8 labels');
  return { count: sizes[0]!, labels: data };
}

/**
 * The path under which `file` exists: as named, or with `.gz` appended — the
 * datasets are distributed both ways. Plain wins when both exist (no inflate).
 * Returns undefined when neither exists.
 */
export function findIdxFile(file: string): string | undefined {
  if (existsSync(file)) return file;
  if (existsSync(`${file}.gz`)) return `${file}.gz`;
  return undefined;
}

function readIdx(file: string, dims: number, what: string): { sizes: number[]; data: Uint8Array } {
  const contents = readFileBytes(file);
  const { bytes } = contents;
  const expectedMagic = 0x0800 | dims;
  if (bytes.length < 4) {
    throw errors.badFile(file, `truncated header: expected at least ${4 + 4 * dims} bytes, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || !TYPE_NAMES.has(type) || bytes[3] === 0) {
    throw errors.badFile(
      file,
      `wrong magic number ${hex(magic)}, expected ${hex(expectedMagic)} (IDX ${what}); not an IDX file`,
    );
  }
  if (type !== UINT8) {
    throw errors.badFile(
      file,
      `unsupported IDX type code 0x${type.toString(16).padStart(2, '0')} (${TYPE_NAMES.get(type)}) ` +
        `in magic number ${hex(magic)}; only 0x08 (uint8) is supported`,
    );
  }
  if (bytes[3] !== dims) {
    throw errors.badFile(
      file,
      `wrong number of dimensions: magic number ${hex(magic)} says ${bytes[3]}, ` +
        `expected ${dims} (${hex(expectedMagic)}, IDX ${what})`,
    );
  }
  const headerBytes = 4 + 4 * dims;
  if (bytes.length < headerBytes) {
    throw errors.badFile(file, `truncated header: expected at least ${headerBytes} bytes, found ${bytes.length}`);
  }
  const sizes: number[] = [];
  let elements = 1;
  for (let d = 0; d < dims; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    sizes.push(size);
    elements *= size;
  }
  checkSize(file, contents, headerBytes + elements);
  return { sizes, data: bytes.subarray(headerBytes, headerBytes + elements) };
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}
