/**
 * HDF5 files read and written in memory with h5wasm (the HDF5 C library compiled to
 * WebAssembly, no native build). Its in-memory build is used, not its Node build: the Node
 * build reaches the host file system directly (NODERAWFS), so an external link or an external
 * data file named inside a hostile .h5 could make the HDF5 library open any file on the
 * machine. Here the library sees one file only, the bytes we read ourselves after checking
 * them (a regular file within the limits), copied into its private memory file system; a link
 * to any other file finds nothing. Written files are built there too and handed back as bytes,
 * which the caller writes atomically with our own file code.
 *
 * h5wasm's wasm binary is embedded in its JavaScript, so bundles (the engine worker) and the
 * packaged app need no separate file for it.
 */
import { randomBytes } from 'node:crypto';
import type * as H5 from 'h5wasm';
import { UserError } from '../errors.js';

type H5Module = typeof H5;
let loading: Promise<H5Module> | null = null;

/**
 * Loads h5wasm once. Its start-up code refuses to run when it sees a browser's user agent,
 * which Electron's utility process exposes as `navigator`, so `navigator` is hidden while it
 * starts (as h5wasm's README advises for Electron). HDF5's own error printing is replaced by
 * exceptions, so a damaged file is one error here, not pages on stderr.
 */
export function h5(): Promise<H5Module> {
  loading ??= (async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    const hide = saved?.configurable === true;
    if (hide) Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true, writable: true });
    try {
      const mod = await import('h5wasm');
      const module = await mod.ready;
      module.activate_throwing_error_handler();
      return mod;
    } finally {
      if (hide) Object.defineProperty(globalThis, 'navigator', saved!);
    }
  })();
  return loading;
}

/** The last "minor:" line of an HDF5 error stack ("Not an HDF5 file"), or the message's first line. */
export function hdf5Reason(err: unknown): string {
  const text = String((err as Error)?.message ?? err);
  const minors = [...text.matchAll(/minor:\s*(.+)/g)].map((m) => m[1].trim());
  const reason = minors.length ? minors[minors.length - 1] : text.split('\n')[0].trim();
  return reason.length > 160 ? `${reason.slice(0, 157)}...` : reason;
}

function scratchName(): string {
  return `/clear-${randomBytes(8).toString('hex')}.h5`;
}

/**
 * Opens `bytes` as an HDF5 file for `read` and closes and forgets it afterwards, whatever
 * happens. `shown` names the file in messages. An error of the HDF5 library while opening or
 * reading becomes one sentence naming the file; a UserError from `read` passes unchanged.
 */
export async function readHdf5<T>(bytes: Uint8Array, shown: string, read: (file: H5.File, lib: H5Module) => T): Promise<T> {
  const lib = await h5();
  const FS = lib.FS!;
  const name = scratchName();
  FS.writeFile(name, bytes);
  let file: H5.File | null = null;
  try {
    try {
      file = new lib.File(name, 'r');
    } catch (err) {
      throw new UserError(`${shown} is not a readable HDF5 file (${hdf5Reason(err)}).`);
    }
    if (typeof file.file_id !== 'bigint' || file.file_id < 0n) throw new UserError(`${shown} is not a readable HDF5 file.`);
    try {
      return read(file, lib);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`${shown} is damaged or truncated: the HDF5 library could not read it (${hdf5Reason(err)}).`);
    }
  } finally {
    try { file?.close(); } catch { /* already failed */ }
    try { FS.unlink(name); } catch { /* gone */ }
  }
}

/** Builds a new HDF5 file with `write` and returns its bytes; nothing is left behind. */
export async function writeHdf5(write: (file: H5.File, lib: H5Module) => void): Promise<Uint8Array> {
  const lib = await h5();
  const FS = lib.FS!;
  const name = scratchName();
  let file: H5.File | null = new lib.File(name, 'w');
  try {
    write(file, lib);
    file.close();
    file = null;
    return new Uint8Array(FS.readFile(name));
  } finally {
    try { file?.close(); } catch { /* already failed */ }
    try { FS.unlink(name); } catch { /* gone */ }
  }
}
