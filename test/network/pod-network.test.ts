// setup/teardown against a scripted runner: what runs, in which order, what is undone.
import { describe, it, expect } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { READ_LINKS, READ_NEIGHBORS, READ_ROUTES, parseLinks } from '../../src/network/ip-json.js';
import { chooseEndpoints, setupPlan, teardownPlan } from '../../src/network/plan.js';
import { NetnsCommandError, type NetnsState } from '../../src/network/netns-exec.js';
import { setupPodNetworkWith, teardownPodNetworkWith, type PodNetworkDeps } from '../../src/network/pod-network.js';
import { setupPodNetwork } from '../../src/network/index.js';
import type { PodNetwork } from '../../src/network/types.js';
import { Code } from '../../src/errors/index.js';
import { editedLinks, fixture } from './fixtures.js';
import { rejection } from './rejection.js';

const NETNS = '/var/run/netns/cni-test';

interface Failure {
  match: string;
  code?: Code;
  stderr: string;
}

/** A runner that answers the reads from fixtures, records the rest and fails where told. */
function scripted(opts: { links?: string; state?: NetnsState; fail?: Failure[] } = {}) {
  const ran: string[] = [];
  const lines: { level: string; msg: string; cmd?: string }[] = [];
  const reads = new Map<string, string>([
    [READ_LINKS.join(' '), opts.links ?? fixture('cni-pod/addr.json')],
    [READ_ROUTES.ipv4.join(' '), fixture('cni-pod/route4.json')],
    [READ_ROUTES.ipv6.join(' '), fixture('cni-pod/route6.json')],
    [READ_NEIGHBORS.join(' '), fixture('cni-pod/neigh.json')],
  ]);
  const deps: PodNetworkDeps = {
    probe: async () => opts.state ?? 'present',
    run: async (netnsPath, argv) => {
      expect(netnsPath).toBe(NETNS);
      const cmd = argv.join(' ');
      const read = reads.get(cmd);
      if (read !== undefined) return read;
      ran.push(cmd);
      const f = opts.fail?.find((x) => cmd === x.match);
      if (f) throw new NetnsCommandError(f.code ?? Code.INTERNAL, netnsPath, argv, f.stderr, f.stderr);
      return '';
    },
  };
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { deps, ran, lines, log };
}

const cniEndpoints = chooseEndpoints(NETNS, parseLinks(fixture('cni-pod/addr.json')));
const SETUP = setupPlan(cniEndpoints).map((s) => s.argv.join(' '));
const TEARDOWN = teardownPlan(cniEndpoints).map((a) => a.join(' '));

describe('setupPodNetwork (scripted runner)', () => {
  it('mirrors the CNI veth and returns its interface, routes and permanent neighbours', async () => {
    const s = scripted();
    const net = await setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'tcfilter', log: s.log });
    expect(s.ran).toEqual(SETUP);
    expect(net.netnsPath).toBe(NETNS);
    expect(net.endpoints).toHaveLength(1);
    expect(net.endpoints[0]).toMatchObject({ tap: 'tap0_kata', iface: { name: 'eth0', kind: 'veth', mac: 'da:22:db:7e:ea:28', mtu: 1450 } });
    expect(net.routes.map((r) => `${r.dest || 'default'} ${r.gateway}`.trim())).toEqual([
      '10.88.7.0/24', 'fd00:88:7::/64', 'default 10.88.7.1', '10.99.0.5/32 10.88.7.1', '192.168.50.0/24 169.254.1.1', 'fd00:99::/64 fd00:88:7::1', 'default fd00:88:7::1',
    ]);
    expect(net.neighbors.map((n) => n.address)).toEqual(['10.88.7.1', 'fd00:88:7::1']);
    expect(JSON.parse(JSON.stringify(net))).toEqual(net); // persisted with the sandbox state
    expect(s.lines.find((l) => l.msg === 'pod network mirrored into taps')).toMatchObject({ level: 'info', netns: NETNS });
    expect(s.lines.filter((l) => l.msg === 'pod network: run').map((l) => l.cmd)).toEqual(SETUP);
  });

  it("model 'none' touches nothing, not even the netns path", async () => {
    const s = scripted({ state: 'missing' });
    const net = await setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'none', log: s.log });
    expect(net).toEqual({ netnsPath: NETNS, endpoints: [], routes: [], neighbors: [] });
    expect(s.ran).toEqual([]);
  });

  it("refuses 'macvtap', naming the configuration key", async () => {
    const s = scripted();
    const err = await rejection(setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'macvtap', log: s.log }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toBe('internetworking_model = "macvtap" is not supported; use "tcfilter" (the default) or "none"');
    expect(s.ran).toEqual([]);
  });

  it('refuses a missing netns, a path that is not a namespace, and an empty path, naming the path', async () => {
    const missing = scripted({ state: 'missing' });
    expect((await rejection(setupPodNetworkWith(missing.deps, { netnsPath: NETNS, model: 'tcfilter', log: missing.log }))).message).toBe(
      `pod network ${NETNS}: no such network namespace (the path does not exist)`,
    );
    const plain = scripted({ state: 'not-a-namespace' });
    const err = await rejection(setupPodNetworkWith(plain.deps, { netnsPath: NETNS, model: 'tcfilter', log: plain.log }));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toBe(`pod network ${NETNS}: not a network namespace (nothing is mounted there)`);
    expect((await rejection(setupPodNetworkWith(plain.deps, { netnsPath: '', model: 'tcfilter', log: plain.log }))).code).toBe(Code.INVALID_ARGUMENT);
    expect([...missing.ran, ...plain.ran]).toEqual([]);
  });

  it('refuses a netns holding a bridge before changing anything', async () => {
    const s = scripted({ links: fixture('mixed-kinds/addr.json') });
    const err = await rejection(setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'tcfilter', log: s.log }));
    expect(err.message).toContain('interface br0 of type bridge cannot be mirrored into the VM');
    expect(s.ran).toEqual([]);
  });

  it('returns an empty network for a netns with only loopback', async () => {
    const s = scripted({ links: editedLinks('cni-pod/addr.json', { eth0: null }) });
    const net = await setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'tcfilter', log: s.log });
    expect(net).toEqual({ netnsPath: NETNS, endpoints: [], routes: [], neighbors: [] });
    expect(s.ran).toEqual([]);
  });

  it('undoes the first endpoint when the second one fails, keeping the failing command and its stderr in the error', async () => {
    const links = editedLinks('mixed-kinds/addr.json', { br0: null, tapx: null });
    const s = scripted({ links, fail: [{ match: 'tc qdisc add dev eth0 handle ffff: ingress', stderr: 'Error: Exclusivity flag on, cannot modify.' }] });
    const err = await rejection(setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'tcfilter', log: s.log }));
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toBe(
      `pod network ${NETNS}: cannot mirror eth0 into the VM: \`tc qdisc add dev eth0 handle ffff: ingress\` in ${NETNS}: Error: Exclusivity flag on, cannot modify.`,
    );
    // mv0 (tap0_kata) was complete, eth0 (tap1_kata) had its tap: both undone, newest first; eth0's
    // qdisc was never ours, so it stays.
    expect(s.ran.slice(-3)).toEqual(['ip link del dev tap1_kata', 'tc qdisc del dev mv0 handle ffff: ingress', 'ip link del dev tap0_kata']);
    expect(s.ran).not.toContain('tc qdisc del dev eth0 handle ffff: ingress');
  });

  it('also undoes a step that timed out, which may have acted before it was killed', async () => {
    const s = scripted({ fail: [{ match: 'ip tuntap add dev tap0_kata mode tap', code: Code.DEADLINE_EXCEEDED, stderr: '' }] });
    const err = await rejection(setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'tcfilter', log: s.log }));
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(s.ran).toEqual(['ip tuntap add dev tap0_kata mode tap', 'ip link del dev tap0_kata']);
  });

  it('says so when cleaning up after a failure fails too', async () => {
    const s = scripted({
      fail: [
        { match: SETUP[3]!, stderr: 'RTNETLINK answers: Operation not permitted' },
        { match: 'ip link del dev tap0_kata', stderr: 'RTNETLINK answers: Device or resource busy' },
      ],
    });
    const err = await rejection(setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'tcfilter', log: s.log }));
    expect(err.message).toMatch(/Operation not permitted; cleaning up also failed: `ip link del dev tap0_kata` in .*: RTNETLINK answers: Device or resource busy$/);
  });

  it('refuses models it does not know', async () => {
    const s = scripted();
    const err = await rejection(setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'bridged' as never, log: s.log }));
    expect(err.message).toContain('internetworking_model = "bridged" is not supported');
  });

  it('the exported setupPodNetwork has the same refusals', async () => {
    const log = createLogger({ level: 'silent' });
    expect((await rejection(setupPodNetwork({ netnsPath: NETNS, model: 'macvtap', log }))).message).toContain('internetworking_model');
    expect(await setupPodNetwork({ netnsPath: NETNS, model: 'none', log })).toMatchObject({ endpoints: [] });
  });
});

describe('teardownPodNetwork (scripted runner)', () => {
  const net = async (): Promise<PodNetwork> => {
    const s = scripted();
    return setupPodNetworkWith(s.deps, { netnsPath: NETNS, model: 'tcfilter', log: s.log });
  };

  it('removes the veth ingress qdisc and the tap', async () => {
    const s = scripted();
    await teardownPodNetworkWith(s.deps, await net(), s.log);
    expect(s.ran).toEqual(TEARDOWN);
  });

  it('does nothing for a network without endpoints', async () => {
    const s = scripted({ state: 'missing' });
    await teardownPodNetworkWith(s.deps, { netnsPath: NETNS, endpoints: [], routes: [], neighbors: [] }, s.log);
    expect(s.ran).toEqual([]);
  });

  it('does not throw when the netns is gone or no longer a namespace, and logs it at debug', async () => {
    for (const state of ['missing', 'not-a-namespace'] as const) {
      const s = scripted({ state });
      await teardownPodNetworkWith(s.deps, await net(), s.log);
      expect(s.ran).toEqual([]);
      expect(s.lines.at(-1)).toMatchObject({ level: 'debug', state });
    }
  });

  it('does not throw for devices, qdiscs or a netns already gone', async () => {
    const s = scripted({
      fail: [
        { match: TEARDOWN[0]!, stderr: 'Error: Invalid handle.\n' },
        { match: TEARDOWN[1]!, stderr: 'nsenter: cannot open /var/run/netns/cni-test: No such file or directory\n' },
      ],
    });
    await teardownPodNetworkWith(s.deps, await net(), s.log);
    expect(s.ran).toEqual(TEARDOWN);
    expect(s.lines.filter((l) => l.msg === 'pod network: already gone')).toHaveLength(2);
  });

  it('tries everything, then throws naming what could not be removed', async () => {
    const s = scripted({ fail: [{ match: TEARDOWN[0]!, stderr: 'RTNETLINK answers: Operation not permitted' }] });
    const err = await rejection(teardownPodNetworkWith(s.deps, await net(), s.log));
    expect(s.ran).toEqual(TEARDOWN);
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toBe(
      `pod network ${NETNS}: teardown could not remove everything: \`tc qdisc del dev eth0 handle ffff: ingress\` in ${NETNS}: RTNETLINK answers: Operation not permitted`,
    );
  });
});
