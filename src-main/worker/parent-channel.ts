/**
 * The engine worker's line to its host, whichever kind of process it runs in: a child of
 * Node's child_process.fork talks over `process.send` / `process.on('message')`; a child of
 * Electron's utilityProcess.fork (the desktop app) over `process.parentPort`, whose messages
 * arrive wrapped in an event's `data`. Both structured-clone what they carry.
 */

/** The part of Electron's `process.parentPort` the worker uses. */
export interface ParentPortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
}

export interface ParentChannel {
  /** Sends to the host; a no-op when there is none (the script run on its own). */
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
}

interface ProcessLike {
  parentPort?: ParentPortLike;
  send?: (message: unknown) => unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

export function parentChannel(proc: ProcessLike = process as unknown as ProcessLike): ParentChannel {
  const port = proc.parentPort;
  if (port) {
    return {
      send: (message) => port.postMessage(message),
      onMessage: (listener) => { port.on('message', (event) => listener(event.data)); },
    };
  }
  return {
    send: (message) => { proc.send?.(message); },
    onMessage: (listener) => { proc.on('message', listener); },
  };
}
