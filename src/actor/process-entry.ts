/**
 * The main module of a process host (`child_process.fork`): serves the
 * actors the caller spawns over the one IPC channel, and exits when told to
 * or when the caller goes away.
 *
 * When it dies, its 'exit' handler writes a death note — the actor that
 * last began a request and the uncaught error, if any — synchronously to a
 * pipe the caller reads: unlike an IPC message, a synchronous write is not
 * lost to the exit.
 */
import { writeSync } from 'node:fs';
import { IpcMux, type IpcChannel } from './ipc.js';
import { hostActor } from './runtime.js';

/** The death note, as the caller reads it. */
export interface DeathNote {
  readonly actor?: string;
  readonly error?: string;
}

const noteFd = Number(process.env['PARAGEN_NOTE_FD']);
let current: string | undefined;
let uncaught: string | undefined;

/** Writes the note as one JSON line; the caller reads the last one. */
function writeNote(): void {
  if (!Number.isInteger(noteFd)) return;
  const note: DeathNote = { ...(current ? { actor: current } : {}), ...(uncaught ? { error: uncaught } : {}) };
  try {
    writeSync(noteFd, `${JSON.stringify(note)}\n`);
  } catch {
    // The caller is gone and the pipe with it: there is no one left to tell.
  }
}

// Written at once: with the wasm backend loaded, emscripten's own 'uncaughtException'
// handler rethrows, and the process then ends (code 7) without an 'exit' event.
process.on('uncaughtExceptionMonitor', (error) => {
  uncaught = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  writeNote();
});
process.on('exit', writeNote);
// The caller closed the channel or died: nothing is left to serve.
process.on('disconnect', () => process.exit(0));

const mux = new IpcMux(process as unknown as IpcChannel);
mux.onControl((message) => {
  if (message.c === 'exit') process.exit(0);
  if (message.c !== 'spawn') return;
  const link = mux.link(message.id);
  void hostActor(message.request, link, { onEnter: (name) => (current = name) }).then(() => link.close());
});
// Only now is anyone listening: the caller sends nothing before this.
mux.send({ c: 'hello' });
