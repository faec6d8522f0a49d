// The network RPCs' executor: reads the current state with busybox `ip`, asks net-plan.ts
// what to run, runs it. One call at a time (renames and route swaps must not
// interleave). The runner is injectable: tests run the same commands in a private netns.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { notFound } from '../errors/index.js';
import { parseAddrs, parseLinks, parseRoutes, type IpAddrEntry, type IpLink, type IpRoute } from './ip-show.js';
import { commandText, findNic, planInterface, planNeighbors, planRoutes, type IpCommand } from './net-plan.js';
import type { NeighborConfig, NicConfig, RouteConfig } from './net-request.js';
import { runTool } from './tool.js';

/** Runs one busybox applet and returns its stdout; failures are RpcErrors with stderr. */
export type AppletRunner = (applet: IpCommand['applet'], args: readonly string[]) => Promise<string>;

/** busybox applets, optionally inside another network namespace (test mode: --netns). */
export function busyboxRunner(o: { busybox?: string; netns?: string } = {}): AppletRunner {
  const busybox = o.busybox ?? 'busybox';
  return (applet, args) => (o.netns ? runTool('nsenter', [`--net=${o.netns}`, busybox, applet, ...args]) : runTool(busybox, [applet, ...args]));
}

export interface NetworkOptions {
  run: AppletRunner;
  log: Logger;
  /** Makes the NIC driver available (the VM: modprobe virtio_net); once, before the first NIC lookup. */
  loadDriver?: () => Promise<void>;
  /** How long UpdateInterface waits for a NIC that is still probing. */
  nicWaitMs?: number;
  pollMs?: number;
}

export interface NicState {
  link: IpLink;
  addrs: IpAddrEntry[];
}

const NIC_WAIT_MS = 5000;
const POLL_MS = 100;

export class GuestNetwork {
  #queue: Promise<unknown> = Promise.resolve();
  #driver: Promise<void> | undefined;

  constructor(private readonly o: NetworkOptions) {}

  /** Kata's agent brings lo up at start: containers share the VM's network namespace. */
  loopbackUp(): Promise<void> {
    return this.#serial(() => this.#apply([{ applet: 'ip', args: ['link', 'set', 'dev', 'lo', 'up'] }]));
  }

  updateInterface(cfg: NicConfig): Promise<NicState> {
    return this.#serial(async () => {
      const links = await this.#waitForNic(cfg.mac);
      const cmds = planInterface(cfg, links, await this.#addrs());
      await this.#apply(cmds);
      const after = findNic(await this.#links(), cfg.mac);
      if (!after) throw notFound(`network interface ${cfg.mac} disappeared while it was configured`);
      this.o.log.info({ mac: cfg.mac, name: after.name, mtu: after.mtu, commands: cmds.map(commandText) }, 'interface updated');
      return { link: after, addrs: (await this.#addrs()).filter((a) => a.index === after.index) };
    });
  }

  updateRoutes(routes: readonly RouteConfig[]): Promise<readonly RouteConfig[]> {
    return this.#serial(async () => {
      const cmds = planRoutes(routes, await this.#links(), await this.#addrs(), await this.#routes());
      await this.#apply(cmds);
      this.o.log.info({ commands: cmds.map(commandText) }, 'routes updated');
      return routes;
    });
  }

  addNeighbors(neighbors: readonly NeighborConfig[]): Promise<void> {
    return this.#serial(async () => {
      const cmds = planNeighbors(neighbors, await this.#links());
      await this.#apply(cmds);
      this.o.log.info({ commands: cmds.map(commandText) }, 'ARP neighbours added');
    });
  }

  listInterfaces(): Promise<{ links: IpLink[]; addrs: IpAddrEntry[] }> {
    return this.#serial(async () => ({ links: await this.#links(), addrs: await this.#addrs() }));
  }

  /** The main table's unicast routes, IPv4 then IPv6. */
  listRoutes(): Promise<IpRoute[]> {
    return this.#serial(async () => (await this.#routes()).filter((r) => r.type === 'unicast'));
  }

  async #waitForNic(mac: string): Promise<IpLink[]> {
    // A failed load is not fatal: the driver may be built in; the wait below says what is missing.
    this.#driver ??= (this.o.loadDriver?.() ?? Promise.resolve()).catch((err: unknown) => this.o.log.warn({ err }, 'cannot load the NIC driver'));
    await this.#driver;
    const waitMs = this.o.nicWaitMs ?? NIC_WAIT_MS;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const links = await this.#links();
      if (findNic(links, mac)) return links;
      if (Date.now() >= deadline) {
        const seen = links.map((l) => `${l.name} ${l.mac || '-'}`).join(', ');
        throw notFound(`no network interface has MAC ${mac} (waited ${waitMs / 1000} s; links: ${seen})`);
      }
      await sleep(this.o.pollMs ?? POLL_MS);
    }
  }

  async #links(): Promise<IpLink[]> {
    return parseLinks(await this.o.run('ip', ['-o', 'link', 'show']));
  }

  async #addrs(): Promise<IpAddrEntry[]> {
    return parseAddrs(await this.o.run('ip', ['-o', 'addr', 'show']));
  }

  async #routes(): Promise<IpRoute[]> {
    const v4 = parseRoutes(await this.o.run('ip', ['-4', 'route', 'show']), 4);
    const v6 = parseRoutes(await this.o.run('ip', ['-6', 'route', 'show']), 6);
    return [...v4, ...v6];
  }

  async #apply(cmds: readonly IpCommand[]): Promise<void> {
    for (const c of cmds) await this.o.run(c.applet, c.args);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
