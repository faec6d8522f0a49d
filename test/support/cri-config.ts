// The CRI plugin's configuration and the CNI network of a test containerd (pure):
// `[plugins."io.containerd.grpc.v1.cri"]` tables (pkg/cri/config in containerd 1.6) and a
// bridge conflist from Debian's containernetworking-plugins.
import { join } from 'node:path';
import { tomlString } from './containerd-config.js';
import type { Snapshotter } from './containerd.js';

export const CRI_PLUGIN_TABLE = 'plugins."io.containerd.grpc.v1.cri"';
export const CNI_BIN_DIR = '/usr/lib/cni';

export type TomlValue = string | number | boolean | readonly string[];

export interface CniNetwork {
  /** The conflist's network name (unique per run). */
  name: string;
  /** The Linux bridge the `bridge` plugin creates in the test netns. */
  bridge: string;
  subnet: string;
  /** The bridge's address, the pods' default gateway. */
  gateway: string;
  confDir: string;
  /** host-local's dataDir: one file per allocated IP under <dataDir>/<name>/. */
  ipamDataDir: string;
}

const tomlValue = (v: TomlValue): string =>
  typeof v === 'string' ? tomlString(v) : Array.isArray(v) ? `[${v.map((s) => tomlString(s)).join(', ')}]` : String(v);

const tomlKeys = (keys: Readonly<Record<string, TomlValue>>, indent = '  '): string[] =>
  Object.entries(keys).map(([k, v]) => `${indent}${/^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k)} = ${tomlValue(v)}`);

export interface CriConfigInputs {
  sandboxImage: string;
  confDir: string;
  snapshotter: Snapshotter;
  netnsMountsUnderStateDir: boolean;
  criSettings?: Readonly<Record<string, TomlValue>>;
  runtimes?: Readonly<Record<string, Readonly<Record<string, TomlValue>>>>;
  extraCriConfig?: string;
}

/** The `[plugins."io.containerd.grpc.v1.cri"]` tables (pure; see pkg/cri/config in containerd 1.6). */
export function renderCriConfig(i: CriConfigInputs): string {
  const settings: Record<string, TomlValue> = {
    sandbox_image: i.sandboxImage,
    // Inside the private netns, so loopback and any port are ours alone.
    stream_server_address: '127.0.0.1',
    stream_server_port: '0',
    enable_selinux: false,
    // No AppArmor profile is loaded for tests; with AppArmor on, CRI would apply its default one.
    disable_apparmor: true,
    netns_mounts_under_state_dir: i.netnsMountsUnderStateDir,
    // Without CAP_SYS_RESOURCE (missing on our machines) runc cannot lower oom_score_adj to
    // the -998 CRI asks for a sandbox; restricting clamps it to containerd's own value.
    restrict_oom_score_adj: true,
    ...i.criSettings,
  };
  const runtimes: Record<string, Record<string, TomlValue>> = {
    runc: { runtime_type: 'io.containerd.runc.v2' },
    kata: {
      runtime_type: 'io.containerd.kata.v2',
      pod_annotations: ['io.katacontainers.*'],
      container_annotations: ['io.katacontainers.*'],
    },
  };
  for (const [name, keys] of Object.entries(i.runtimes ?? {})) runtimes[name] = { ...runtimes[name], ...keys };
  const t = CRI_PLUGIN_TABLE;
  const lines = [
    `[${t}]`,
    ...tomlKeys(settings),
    '',
    `[${t}.containerd]`,
    `  snapshotter = ${tomlString(i.snapshotter)}`,
    '  default_runtime_name = "runc"',
    '',
  ];
  for (const [name, keys] of Object.entries(runtimes)) {
    lines.push(`[${t}.containerd.runtimes.${tomlString(name)}]`, ...tomlKeys(keys), '');
  }
  lines.push(`[${t}.cni]`, `  bin_dir = ${tomlString(CNI_BIN_DIR)}`, `  conf_dir = ${tomlString(i.confDir)}`, '  max_conf_num = 1', '');
  if (i.extraCriConfig) lines.push(i.extraCriConfig.trim(), '');
  return lines.join('\n');
}

let networks = 0;

/** A network unique to this process and call; the subnet only has to be unique inside the private netns. */
export function newNetwork(dir: string): CniNetwork {
  networks += 1;
  const id = `${process.pid.toString(36)}${networks.toString(36)}`;
  const second = 100 + (process.pid % 100);
  const third = networks % 256;
  return {
    name: `kata-test-${id}`,
    bridge: `ktbr${id}`.slice(0, 15),
    subnet: `10.${second}.${third}.0/24`,
    gateway: `10.${second}.${third}.1`,
    confDir: join(dir, 'cni', 'net.d'),
    ipamDataDir: join(dir, 'cni', 'ipam'),
  };
}

/**
 * The conflist: one bridge network with host-local IPAM (its state in our dir, not
 * /var/lib/cni/networks). No `loopback` entry: containerd 1.6 adds its own loopback network
 * (go-cni WithLoNetwork) to every pod besides the conf_dir one.
 */
export function cniConflist(net: CniNetwork): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: net.name,
      plugins: [
        {
          type: 'bridge',
          bridge: net.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: net.subnet, gateway: net.gateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: net.ipamDataDir,
          },
        },
      ],
    },
    null,
    2,
  )}\n`;
}
