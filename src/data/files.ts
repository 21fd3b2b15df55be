/**
 * Reading a user's data file into memory, with every failure turned into one
 * line that names the file: a missing file, an unreadable one, a corrupt gzip
 * stream. The readers in this folder parse the bytes this returns.
 */

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { errors } from '../errors.js';

/** The bytes of a file, and whether they were gunzipped on the way in. */
export interface FileBytes {
  readonly bytes: Uint8Array;
  readonly gzipped: boolean;
}

/**
 * Reads `file` whole, gunzipping it when it starts with the gzip magic
 * (1f 8b) whatever its name says: Fashion-MNIST ships `.gz` files and some
 * mirrors ship them decompressed under the same name.
 */
export function readFileBytes(file: string): FileBytes {
  let raw: Buffer;
  try {
    // One read of the whole file: MNIST's 47 MB load in tens of milliseconds this way.
    raw = readFileSync(file);
  } catch (error) {
    throw errors.badFile(file, describeReadError(error));
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return { bytes: plain(gunzipSync(raw)), gzipped: true };
    } catch (error) {
      throw errors.badFile(file, `corrupt gzip data (${messageOf(error)})`);
    }
  }
  return { bytes: plain(raw), gzipped: false };
}

/**
 * A plain Uint8Array over a Buffer's memory. Buffer overrides `slice` to return
 * a view, so handing a Buffer on as a Uint8Array would make `images.slice()`
 * alias the file's memory instead of copying it.
 */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Checks that a file holds exactly the bytes its header describes, so a
 * truncated download or a file with junk appended is caught before training.
 */
export function checkSize(file: string, { bytes, gzipped }: FileBytes, expected: number): void {
  const found = bytes.length;
  const unit = gzipped ? ' after decompression' : '';
  if (found < expected) {
    throw errors.badFile(file, `truncated: expected ${expected} bytes${unit}, found ${found}`);
  }
  if (found > expected) {
    throw errors.badFile(
      file,
      `${found - expected} unexpected bytes after the ${expected} that the header describes${unit}`,
    );
  }
}

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  // ERR_FS_FILE_TOO_LARGE (over 2 GiB) and anything rarer: keep Node's words on one line.
  return `cannot read (${oneLine(messageOf(error))})`;
}

function messageOf(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
