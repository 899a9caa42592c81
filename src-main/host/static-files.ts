/**
 * The renderer's files as both hosts serve them (Electron's app:// protocol, browser mode's
 * HTTP server): a URL path names a regular file inside the renderer folder, or nothing.
 *
 * The check is made on real paths: the folder and the file are resolved with realpath, so a
 * symbolic link inside the folder that points outside it (to a file or a folder) is refused,
 * as are `..` segments in any encoding, NUL bytes, folders, sockets and FIFOs. Every call is
 * asynchronous (fs.promises, looked up at call time so Electron's asar support applies): the
 * Electron main process never blocks on the disk to serve a file.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** The URL path's file inside `root`, as a real path, or null if there is none to serve. */
export async function resolveStaticFile(root: string, urlPath: string): Promise<string | null> {
  let rel: string;
  try { rel = decodeURIComponent(urlPath).replace(/^\/+/, '') || 'index.html'; } catch { return null; }
  if (rel.includes('\0')) return null;
  const lexicalRoot = path.resolve(root);
  const file = path.resolve(lexicalRoot, rel);
  if (!file.startsWith(lexicalRoot + path.sep)) return null;
  try {
    const [realRoot, realFile] = await Promise.all([fsp.realpath(lexicalRoot), fsp.realpath(file)]);
    if (!realFile.startsWith(realRoot + path.sep)) return null;
    return (await fsp.stat(realFile)).isFile() ? realFile : null;
  } catch {
    // Missing, unreadable, a link loop: nothing to serve.
    return null;
  }
}

/** The file's bytes, or null if it is not one to serve (or vanished since). */
export async function readStaticFile(root: string, urlPath: string): Promise<{ file: string; data: Uint8Array<ArrayBuffer> } | null> {
  const file = await resolveStaticFile(root, urlPath);
  if (!file) return null;
  try {
    const bytes = await fsp.readFile(file);
    // A view on readFile's own (never shared) buffer, typed as a Response body takes it.
    return { file, data: new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength) };
  } catch {
    return null;
  }
}
