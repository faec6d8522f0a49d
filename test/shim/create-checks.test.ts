import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_PATH_ANNOTATION, type KataConfig } from '../../src/config/index.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { google } from '../../src/gen/proto.js';
import type { Spec } from '../../src/oci/runtime-spec.js';
import { logConfigWarnings, refuseHostNamespaces, sandboxConfig } from '../../src/shim/create-checks.js';
import { memoryLogger } from './fake-events.js';
import { optionsAny } from './fixtures/containerd-start.js';

const ns = (...entries: [string, string?][]): Spec => ({
  ociVersion: '1.0.2',
  process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } },
  linux: { namespaces: entries.map(([type, path]) => ({ type: type as 'pid', ...(path ? { path } : {}) })) },
});
const ALL: [string, string?][] = [['pid'], ['ipc'], ['uts'], ['mount'], ['network']];

describe('refuseHostNamespaces', () => {
  // A private network namespace stands in for the pod's (CRI/CNI's /var/run/netns/cni-...).
  const name = `kcc-${process.pid}`;
  const podNetns = `/run/netns/${name}`;
  beforeAll(() => execFileSync('ip', ['netns', 'add', name]));
  afterAll(() => execFileSync('ip', ['netns', 'del', name]));

  it('accepts a pod sandbox whose network namespace is the pod netns CRI made', () => {
    expect(() => refuseHostNamespaces('sb', ns(['pid'], ['ipc'], ['uts'], ['mount'], ['network', podNetns]), false)).not.toThrow();
  });

  it('refuses a missing namespace entry naming what would be shared with the host', () => {
    expect(() => refuseHostNamespaces('c', ns(['pid'], ['ipc'], ['uts'], ['mount']), false)).toThrow(/container c: host networking \(--net-host\) is not supported by VM sandboxes/);
    expect(() => refuseHostNamespaces('c', ns(['network'], ['ipc'], ['uts']), true)).toThrow(/the host PID namespace/);
    expect(() => refuseHostNamespaces('c', ns(['network'], ['pid'], ['uts']), false)).toThrow(/the host IPC namespace/);
  });

  it("refuses the host's own network namespace given as a path", () => {
    const own = `/proc/${process.pid}/ns/net`;
    expect(() => refuseHostNamespaces('sb', ns(['pid'], ['ipc'], ['uts'], ['network', own]), false)).toThrow(
      `host networking (network namespace ${own} is the host's) is not supported by VM sandboxes`,
    );
    expect(() => refuseHostNamespaces('sb', ns(['pid'], ['ipc'], ['uts'], ['network', '/run/netns/none-such']), false)).toThrow(/network namespace \/run\/netns\/none-such does not exist/);
  });

  it("lets a pod's container name its sandbox's namespaces, but not a lone container", () => {
    const pod = ns(['pid', '/proc/42/ns/pid'], ['ipc', '/proc/42/ns/ipc'], ['uts', '/proc/42/ns/uts'], ['network', '/proc/42/ns/net']);
    expect(() => refuseHostNamespaces('app', pod, true)).not.toThrow();
    expect(() => refuseHostNamespaces('app', ns(['pid', '/proc/1/ns/pid'], ['ipc'], ['uts'], ['network']), false)).toThrow(
      /joining the existing pid namespace \/proc\/1\/ns\/pid is not supported/,
    );
  });

  it('still needs process args', () => {
    expect(() => refuseHostNamespaces('c', { ...ns(...ALL), process: { args: [], cwd: '/', user: { uid: 0, gid: 0 } } }, false)).toThrow(/no process args/);
  });
});

describe('sandboxConfig: the configuration warnings reach the shim log', () => {
  let dir: string;
  let file: string;
  const HV = 'io.katacontainers.config.hypervisor.';
  const spec = (annotations: Record<string, string>): Spec => ({ ...ns(...ALL), annotations });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-config-'));
    file = join(dir, 'configuration.toml');
    writeFileSync(file, '[hypervisor.qemu]\nfrobnicate = 1\ndefault_bridges = 9\nenable_annotations = ["msize_9p"]\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs every warning once, at warn, with the configuration file', async () => {
    const { log, lines } = memoryLogger();
    const config = await sandboxConfig(
      spec({ [CONFIG_PATH_ANNOTATION]: file, [`${HV}msize_9p`]: '8192', 'io.katacontainers.config.runtime.no_such_thing': '1' }),
      undefined,
      log,
    );
    expect(config.source).toBe(file);
    expect(config.warnings).toHaveLength(4);
    expect(lines).toEqual(
      config.warnings.map((w) => expect.objectContaining({ level: 'warn', configFile: file, msg: `configuration: ${w}` })),
    );
    expect(lines.map((l) => l.msg)).toEqual([
      `configuration: ${file}: [hypervisor.qemu] frobnicate: unknown key, ignored`,
      `configuration: ${file}: [hypervisor.qemu] default_bridges = 9: at most 5 PCI bridges, using 5`,
      `configuration: annotation ${HV}msize_9p: Kata applies it but this runtime does not implement it; ignored`,
      'configuration: annotation io.katacontainers.config.runtime.no_such_thing: not an annotation Kata knows; ignored, as Kata does',
    ]);
  });

  it('finds the file through the runtime options too, and logs nothing without a logger', async () => {
    const options = google.protobuf.Any.decode(optionsAny({ configPath: file }));
    const config = await sandboxConfig(spec({}), options);
    expect(config.source).toBe(file);
    expect(config.warnings).toHaveLength(2);
  });

  it('refuses malformed runtime options as an invalid argument naming them', async () => {
    const options = { type_url: 'runtimeoptions.v1.Options', value: Uint8Array.from([0x12, 0x40, 0x2f]) };
    await expect(sandboxConfig(spec({}), options)).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: 'CreateTaskRequest.options (runtimeoptions.v1.Options) are malformed: field 2: length 64 at byte 0 runs past the end (1 bytes left)',
    });
  });

  it("refuses a hypervisor annotation enable_annotations does not allow, with Kata's message, before logging anything", async () => {
    const { log, lines } = memoryLogger();
    const err = await sandboxConfig(spec({ [CONFIG_PATH_ANNOTATION]: file, [`${HV}default_memory`]: '4096' }), undefined, log).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as RuntimeError).message.startsWith(`annotation ${HV}default_memory is not enabled: `)).toBe(true);
    expect(lines).toEqual([]);
  });

  it('logs a warning that appears twice only once', () => {
    const { log, lines } = memoryLogger();
    logConfigWarnings({ source: '/c.toml', warnings: ['w1', 'w2', 'w1'] } as unknown as KataConfig, log);
    expect(lines.map((l) => l.msg)).toEqual(['configuration: w1', 'configuration: w2']);
  });
});
