// The host side of Kata's tcfilter pod networking: for each pod interface a tap in the
// pod's netns, joined to it both ways by tc redirects; QEMU, started in the netns, opens
// the taps by name. Decisions live in plan.ts and routing.ts; this file runs them.
import type { InternetworkingModel } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { RuntimeError, failedPrecondition, internal, invalidArgument, toRuntimeError } from '../errors/index.js';
import { READ_LINKS, READ_NEIGHBORS, READ_ROUTES, parseLinks, parseNeighbors, parseRoutes } from './ip-json.js';
import { isAlreadyGone, isTimeout, probeNetns, runInNetns, type NetnsRunner, type NetnsState } from './netns-exec.js';
import { chooseEndpoints, rollbackPlan, setupPlan, teardownPlan } from './plan.js';
import { guestNeighbors, guestRoutes } from './routing.js';
import type { Endpoint, PodNetwork } from './types.js';

/** The I/O the layer does, replaceable in unit tests. */
export interface PodNetworkDeps {
  readonly run: NetnsRunner;
  readonly probe: (netnsPath: string) => Promise<NetnsState>;
}

const hostDeps: PodNetworkDeps = { run: runInNetns, probe: probeNetns };

export interface PodNetworkOptions {
  netnsPath: string;
  /** `internetworking_model`: only tcfilter mirrors anything; none leaves the netns alone. */
  model: InternetworkingModel;
  log: Logger;
}

export async function setupPodNetwork(o: PodNetworkOptions): Promise<PodNetwork> {
  return setupPodNetworkWith(hostDeps, o);
}

export async function teardownPodNetwork(net: PodNetwork, log: Logger): Promise<void> {
  return teardownPodNetworkWith(hostDeps, net, log);
}

export async function setupPodNetworkWith(deps: PodNetworkDeps, o: PodNetworkOptions): Promise<PodNetwork> {
  const none: PodNetwork = { netnsPath: o.netnsPath, endpoints: [], routes: [], neighbors: [] };
  if (o.model === 'none') return none;
  if (o.model !== 'tcfilter') {
    throw invalidArgument(`internetworking_model = ${JSON.stringify(o.model)} is not supported; use "tcfilter" (the default) or "none"`);
  }
  const log = o.log.child({ netns: o.netnsPath });
  await requireNetns(deps, o.netnsPath);

  // Everything is read before anything changes, so a failed read leaves nothing to undo.
  const run = (argv: readonly string[]) => deps.run(o.netnsPath, argv);
  const [links, routes4, routes6, neighbors] = await Promise.all([
    run(READ_LINKS).then(parseLinks),
    run(READ_ROUTES.ipv4).then((out) => parseRoutes(out, 'ipv4')),
    run(READ_ROUTES.ipv6).then((out) => parseRoutes(out, 'ipv6')),
    run(READ_NEIGHBORS).then(parseNeighbors),
  ]);
  const endpoints = chooseEndpoints(o.netnsPath, links);
  if (endpoints.length === 0) {
    log.info({ links: links.map((l) => l.name) }, 'pod network: no interface to mirror into the VM');
    return none;
  }
  await mirror(deps, o.netnsPath, endpoints, log);

  const devices = endpoints.map((e) => e.iface.name);
  const net: PodNetwork = {
    netnsPath: o.netnsPath,
    endpoints,
    routes: guestRoutes([...routes4, ...routes6], devices),
    neighbors: guestNeighbors(neighbors, devices),
  };
  log.info(
    {
      endpoints: endpoints.map((e) => ({ iface: e.iface.name, kind: e.iface.kind || 'physical', tap: e.tap, mac: e.iface.mac, mtu: e.iface.mtu })),
      routes: net.routes.length,
      neighbors: net.neighbors.length,
    },
    'pod network mirrored into taps',
  );
  return net;
}

/** Never throws for what is already gone; throws, after trying everything, for what is left. */
export async function teardownPodNetworkWith(deps: PodNetworkDeps, net: PodNetwork, log: Logger): Promise<void> {
  if (net.endpoints.length === 0) return;
  const l = log.child({ netns: net.netnsPath });
  const state = await deps.probe(net.netnsPath);
  if (state !== 'present') {
    l.debug({ state }, 'pod network: namespace already gone, nothing to tear down');
    return;
  }
  const failures = await runAll(deps, net.netnsPath, teardownPlan(net.endpoints), l);
  if (failures.length > 0) {
    throw internal(`pod network ${net.netnsPath}: teardown could not remove everything: ${messages(failures)}`, failures[0]);
  }
  l.info({ taps: net.endpoints.map((e) => e.tap) }, 'pod network taps removed');
}

async function requireNetns(deps: PodNetworkDeps, netnsPath: string): Promise<void> {
  if (!netnsPath) throw invalidArgument('pod network: no network namespace path given');
  const state = await deps.probe(netnsPath);
  if (state === 'missing') throw failedPrecondition(`pod network ${netnsPath}: no such network namespace (the path does not exist)`);
  if (state === 'not-a-namespace') throw failedPrecondition(`pod network ${netnsPath}: not a network namespace (nothing is mounted there)`);
}

/** Runs the setup plan; on failure undoes what was done, then throws with both stories. */
async function mirror(deps: PodNetworkDeps, netnsPath: string, endpoints: readonly Endpoint[], log: Logger): Promise<void> {
  const steps = setupPlan(endpoints);
  let done = 0;
  try {
    for (const step of steps) {
      log.debug({ cmd: step.argv.join(' ') }, 'pod network: run');
      await deps.run(netnsPath, step.argv);
      done++;
    }
  } catch (err) {
    // A command killed by its timeout may have acted before it died: undo it as well.
    const leftovers = await runAll(deps, netnsPath, rollbackPlan(steps, isTimeout(err) ? done + 1 : done), log);
    const e = toRuntimeError(err);
    const cleanup = leftovers.length > 0 ? `; cleaning up also failed: ${messages(leftovers)}` : '';
    throw new RuntimeError(e.code, `pod network ${netnsPath}: cannot mirror ${steps[done]?.iface} into the VM: ${e.message}${cleanup}`, { cause: err });
  }
}

/** Runs every command; what is already gone is fine, anything else is returned. */
async function runAll(deps: PodNetworkDeps, netnsPath: string, cmds: readonly string[][], log: Logger): Promise<RuntimeError[]> {
  const failures: RuntimeError[] = [];
  for (const argv of cmds) {
    try {
      log.debug({ cmd: argv.join(' ') }, 'pod network: run');
      await deps.run(netnsPath, argv);
    } catch (err) {
      if (isAlreadyGone(err)) log.debug({ cmd: argv.join(' '), err: (err as Error).message }, 'pod network: already gone');
      else failures.push(toRuntimeError(err));
    }
  }
  return failures;
}

const messages = (errors: readonly RuntimeError[]): string => errors.map((e) => e.message).join('; ');
