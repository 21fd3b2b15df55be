/**
 * Process hosts: each worker slot is a child process (`child_process.fork`
 * with `serialization: 'advanced'`, so typed arrays cross as typed arrays),
 * speaking the same protocol as a thread host over its IPC channel. The only
 * way to run the native TensorFlow.js backends, whose addon cannot load in a
 * second worker thread of one process (tensorflow/tfjs#8388).
 *
 * IPC copies every message (transfer lists are ignored), and a process
 * shares no memory with the caller: a process host costs a serialisation
 * per message where a thread host moves buffers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { workerEntry } from './entry.js';
import { processCause, type ActorLink, type Death, type Host, type WorkerSlot } from './host.js';
import { IpcMux, type IpcChannel } from './ipc.js';
import { MuxActors } from './mux-actors.js';
import type { DeathNote } from './process-entry.js';
import type { SpawnRequest } from './protocol.js';
import { STOPPED_MS, watchStopped } from './stop-watch.js';

export interface ProcessSlotOptions {
  /** Node flags of the child (default none, e.g. `--max-old-space-size=512`). */
  readonly execArgv?: readonly string[];
  /** Added to the child's environment (e.g. `CUDA_VISIBLE_DEVICES`). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long a child may take to exit when closed before it is killed, ms (default 5000). */
  readonly exitTimeoutMs?: number;
}

/** The child's file descriptor for its death note: stdio is [stdin, stdout, stderr, ipc, note]. */
export const NOTE_FD = 4;

export class ProcessSlot implements WorkerSlot {
  readonly kind = 'process' as const;
  readonly worker: number;
  readonly #options: ProcessSlotOptions;
  readonly #entry: string;
  #current: ProcessHost;

  constructor(worker: number, options: ProcessSlotOptions = {}) {
    this.worker = worker;
    this.#options = options;
    this.#entry = workerEntry(import.meta.url, './process-entry.js');
    this.#current = new ProcessHost(worker, this.#entry, options);
  }

  get current(): Host {
    return this.#current;
  }

  revive(): Host {
    this.#current = new ProcessHost(this.worker, this.#entry, this.#options);
    return this.#current;
  }

  close(): Promise<void> {
    return this.#current.close();
  }
}

class ProcessHost implements Host {
  readonly kind = 'process' as const;
  readonly worker: number;
  readonly died: Promise<Death>;
  readonly #child: ChildProcess;
  readonly #mux: IpcMux;
  readonly #exited: Promise<void>;
  readonly #actors: MuxActors;
  readonly #exitTimeoutMs: number;
  #note = '';
  /** Set when the child was killed for staying stopped: the death's cause. */
  #stopped: string | undefined;
  #dead = false;
  #closing = false;

  constructor(worker: number, entry: string, options: ProcessSlotOptions) {
    this.worker = worker;
    this.#exitTimeoutMs = options.exitTimeoutMs ?? 5000;
    this.#child = fork(entry, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
      execArgv: [...(options.execArgv ?? [])],
      env: { ...process.env, ...options.env, PARAGEN_NOTE_FD: String(NOTE_FD) },
    });
    const note = this.#child.stdio[NOTE_FD] as Readable;
    note.setEncoding('utf8');
    note.on('data', (chunk: string) => (this.#note += chunk));
    this.#mux = new IpcMux(this.#child as unknown as IpcChannel);
    let resolveDeath!: (death: Death) => void;
    this.died = new Promise((resolve) => (resolveDeath = resolve));
    // Messages sent before the child listens could be lost while it is still loading its modules.
    this.#actors = new MuxActors(this.#mux, this.died);
    // A stopped child would never answer: past STOPPED_MS it is killed, and its death says why.
    const unwatch = watchStopped(this.#child.pid, () => {
      this.#stopped = `worker ${worker} (process) was stopped (SIGSTOP or a freeze) for ${STOPPED_MS} ms, and killed`;
      this.#child.kill('SIGKILL');
    });
    // 'close' comes after 'exit' and after the note pipe is drained.
    this.#exited = new Promise((resolve) => {
      this.#child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        unwatch();
        this.#mux.close();
        resolve();
        if (this.#closing) return;
        this.#dead = true;
        const parsed = parseNote(this.#note);
        resolveDeath({
          worker,
          ...(parsed.actor ? { actor: parsed.actor } : {}),
          cause: this.#stopped ?? processCause(worker, code, signal, parsed.error),
        });
      });
    });
    // A child that cannot be started: 'close' follows with the exit, so only keep the event from throwing.
    this.#child.on('error', (error) => (this.#note ||= JSON.stringify({ error: error.message })));
  }

  get dead(): boolean {
    return this.#dead;
  }

  async spawn(request: SpawnRequest): Promise<ActorLink> {
    if (this.#dead || this.#closing) throw new Error(`worker ${this.worker} is ${this.#dead ? 'dead' : 'closing'}`);
    return this.#actors.spawn(request);
  }

  async close(): Promise<void> {
    if (this.#closing) return this.#exited;
    this.#closing = true;
    await this.#actors.stop(this.#dead);
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#mux.send({ c: 'exit' });
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), this.#exitTimeoutMs);
      timer.unref();
      await this.#exited;
      clearTimeout(timer);
    }
    await this.#exited;
  }
}

/** The last complete line of the death note (the child writes one per event, the latest knows most). */
export function parseNote(text: string): DeathNote {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) return {};
  try {
    return JSON.parse(last) as DeathNote;
  } catch {
    return { error: `unreadable death note ${JSON.stringify(last.slice(0, 200))}` };
  }
}
