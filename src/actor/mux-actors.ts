/**
 * The actors of a host whose actors share one multiplexed channel: a child
 * process's IPC (process-host.ts), or a remote host's socket relaying it
 * (src/cluster/remote-host.ts). Each actor gets a link id; a spawn is sent
 * once the far side has said hello (or has died, which rejects it).
 */
import { openActorLink, type ActorLink, type Death } from './host.js';
import type { IpcMux } from './ipc.js';
import type { SpawnRequest } from './protocol.js';

export class MuxActors {
  readonly #mux: IpcMux;
  readonly #hello: Promise<void>;
  readonly #died: Promise<Death>;
  readonly #links = new Set<ActorLink>();
  #nextId = 0;

  constructor(mux: IpcMux, died: Promise<Death>) {
    this.#mux = mux;
    this.#died = died;
    this.#hello = new Promise((resolve) => mux.onControl((message) => message.c === 'hello' && resolve()));
  }

  async spawn(request: SpawnRequest): Promise<ActorLink> {
    const id = this.#nextId++;
    let actorLink: ActorLink | undefined;
    const opened = openActorLink(this.#mux.link(id), this.#died, () => this.#links.delete(actorLink!));
    void Promise.race([this.#hello, this.#died]).then(() => this.#mux.send({ c: 'spawn', id, request }));
    actorLink = await opened.ready;
    this.#links.add(actorLink);
    return actorLink;
  }

  /** Lets every actor finish its mailbox and stop; after a death, only drops the links. */
  async stop(dead: boolean): Promise<void> {
    const links = [...this.#links];
    if (dead) links.forEach((l) => l.close());
    else await Promise.all(links.map((l) => l.stop()));
  }
}
