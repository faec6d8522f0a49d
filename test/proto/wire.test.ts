// Wire-format checks for proto/: every expected byte string below was written by
// hand from the upstream field numbers (tag = field << 3 | wire type), so a wrong
// number, type or packing in a .proto file fails here.
import { describe, it, expect } from 'vitest';
import { containerd, google, grpc, io, runtimeoptions, types } from '../../src/gen/proto.js';
import {
  containerd_services_events_ttrpc_v1_Events,
  containerd_task_v2_Task,
  grpc_AgentService,
  grpc_Health,
} from '../../src/gen/services.js';

const task = containerd.task.v2;
const cgv1 = io.containerd.cgroups.v1;
const cgv2 = io.containerd.cgroups.v2;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Expected bytes: hex groups separated by spaces; `s(...)` inserts a UTF-8 string. */
const h = (...parts: string[]): string => parts.join('').replace(/\s+/g, '');
const s = (text: string): string => Buffer.from(text, 'utf8').toString('hex');
const bytes = (hexText: string): Uint8Array => Uint8Array.from(Buffer.from(hexText, 'hex'));

/** Go's zero time.Time as a Timestamp: what Go shims send for a process that has not exited. */
const GO_ZERO_SECONDS = -62135596800;
const GO_ZERO_VARINT = '80 92 b8 c3 98 fe ff ff ff 01';

describe('containerd task v2 messages', () => {
  it('CreateTaskRequest uses fields 1-10 (options = field 10, length-delimited: 0x52)', () => {
    const msg = {
      id: 'c1',
      bundle: '/b',
      rootfs: [{ type: 'ov', source: 's', target: 't', options: ['ro'] }],
      terminal: true,
      stdin: 'i',
      stdout: 'o',
      stderr: 'e',
      checkpoint: 'k',
      parentCheckpoint: 'p',
      options: { type_url: 'x', value: bytes('01') },
    };
    const expected = h(
      '0a 02', s('c1'),
      '12 02', s('/b'),
      '1a 0e', '0a 02', s('ov'), '12 01', s('s'), '1a 01', s('t'), '22 02', s('ro'),
      '20 01',
      '2a 01', s('i'),
      '32 01', s('o'),
      '3a 01', s('e'),
      '42 01', s('k'),
      '4a 01', s('p'),
      '52 06', '0a 01', s('x'), '12 01 01',
    );
    const wire = task.CreateTaskRequest.encode(msg).finish();
    expect(hex(wire)).toBe(expected);

    const back = task.CreateTaskRequest.decode(wire);
    expect(back.id).toBe('c1');
    expect(back.parentCheckpoint).toBe('p');
    expect(back.rootfs[0]?.options).toEqual(['ro']);
    expect(back.options?.type_url).toBe('x');
    expect(hex(task.CreateTaskRequest.encode(back).finish())).toBe(expected);
  });

  it('StateResponse: status enum at 4, exited_at at 10, exec_id at 11', () => {
    const msg = {
      id: 'c1',
      bundle: '/b',
      pid: 1234,
      status: containerd.v1.types.Status.RUNNING,
      stdin: 'i',
      stdout: 'o',
      stderr: 'e',
      terminal: true,
      exitStatus: 137,
      exitedAt: { seconds: 1, nanos: 2 },
      execId: 'x',
    };
    const expected = h(
      '0a 02', s('c1'),
      '12 02', s('/b'),
      '18 d2 09',
      '20 02',
      '2a 01', s('i'),
      '32 01', s('o'),
      '3a 01', s('e'),
      '40 01',
      '48 89 01',
      '52 04 08 01 10 02',
      '5a 01', s('x'),
    );
    const wire = task.StateResponse.encode(msg).finish();
    expect(hex(wire)).toBe(expected);
    const back = task.StateResponse.decode(wire);
    expect(back.status).toBe(2);
    expect(back.exitStatus).toBe(137);
    expect(back.exitedAt?.nanos).toBe(2);
    expect(back.execId).toBe('x');
  });

  it('Status enum values match containerd.v1.types.Status', () => {
    const st = containerd.v1.types.Status;
    expect([st.UNKNOWN, st.CREATED, st.RUNNING, st.STOPPED, st.PAUSED, st.PAUSING]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('DeleteResponse carries Go zero time as a negative int64 and decodes it exactly', () => {
    const msg = { pid: 42, exitStatus: 137, exitedAt: { seconds: GO_ZERO_SECONDS, nanos: 0 } };
    const expected = h('08 2a', '10 89 01', '1a 0b 08', GO_ZERO_VARINT);
    const wire = task.DeleteResponse.encode(msg).finish();
    expect(hex(wire)).toBe(expected);
    const back = task.DeleteResponse.decode(wire);
    expect(back.pid).toBe(42);
    expect(back.exitStatus).toBe(137);
    expect(back.exitedAt?.seconds).toBe(GO_ZERO_SECONDS);
  });

  it('small request/response messages', () => {
    expect(hex(task.KillRequest.encode({ id: 'a', execId: 'b', signal: 9, all: true }).finish())).toBe(
      h('0a 01', s('a'), '12 01', s('b'), '18 09', '20 01'),
    );
    expect(hex(task.ConnectResponse.encode({ shimPid: 1, taskPid: 2, version: '2' }).finish())).toBe(
      h('08 01 10 02 1a 01', s('2')),
    );
    expect(hex(task.WaitResponse.encode({ exitStatus: 3, exitedAt: { seconds: 5 } }).finish())).toBe(h('08 03 12 02 08 05'));
    expect(hex(task.UpdateTaskRequest.encode({ id: 'a', annotations: { k: 'v' } }).finish())).toBe(
      h('0a 01', s('a'), '1a 06 0a 01', s('k'), '12 01', s('v')),
    );
    expect(hex(task.ShutdownRequest.encode({ id: 'a', now: true }).finish())).toBe(h('0a 01', s('a'), '10 01'));
    expect(hex(task.PidsResponse.encode({ processes: [{ pid: 7, info: { type_url: 'x' } }] }).finish())).toBe(
      h('0a 07 08 07 12 03 0a 01', s('x')),
    );
  });
});

describe('containerd events', () => {
  const taskExit = { containerId: 'c1', id: 'c1', pid: 7, exitStatus: 1, exitedAt: { seconds: 100 } };
  const taskExitHex = h('0a 02', s('c1'), '12 02', s('c1'), '18 07', '20 01', '2a 02 08 64');

  it('TaskExit: container_id 1, id 2, pid 3, exit_status 4, exited_at 5', () => {
    const wire = containerd.events.TaskExit.encode(taskExit).finish();
    expect(hex(wire)).toBe(taskExitHex);
    const back = containerd.events.TaskExit.decode(wire);
    expect(back.containerId).toBe('c1');
    expect(back.exitedAt?.seconds).toBe(100);
  });

  it('TaskDelete puts id at 5 after exited_at at 4; TaskCreate nests TaskIO at 4', () => {
    expect(hex(containerd.events.TaskDelete.encode({ containerId: 'c', pid: 1, exitStatus: 2, exitedAt: { seconds: 3 }, id: 'x' }).finish())).toBe(
      h('0a 01', s('c'), '10 01 18 02 22 02 08 03 2a 01', s('x')),
    );
    expect(
      hex(containerd.events.TaskCreate.encode({ containerId: 'c', bundle: 'b', io: { stdin: 'i', terminal: true }, pid: 9 }).finish()),
    ).toBe(h('0a 01', s('c'), '12 01', s('b'), '22 05 0a 01', s('i'), '20 01', '30 09'));
  });

  it('Envelope/ForwardRequest wrap a TaskExit in an Any with a bare type URL', () => {
    const typeUrl = 'containerd.events.TaskExit';
    expect(containerd.events.TaskExit.getTypeUrl('')).toBe('/' + typeUrl);
    const env = {
      timestamp: { seconds: 1 },
      namespace: 'default',
      topic: '/tasks/exit',
      event: { type_url: typeUrl, value: containerd.events.TaskExit.encode(taskExit).finish() },
    };
    const envHex = h(
      '0a 02 08 01',
      '12 07', s('default'),
      '1a 0b', s('/tasks/exit'),
      '22 2e', '0a 1a', s(typeUrl), '12 10', taskExitHex,
    );
    const events = containerd.services.events.ttrpc.v1;
    expect(hex(events.Envelope.encode(env).finish())).toBe(envHex);
    const fwd = events.ForwardRequest.encode({ envelope: env }).finish();
    expect(hex(fwd)).toBe(h('0a 4a', envHex));

    const back = events.ForwardRequest.decode(fwd);
    expect(back.envelope?.topic).toBe('/tasks/exit');
    expect(back.envelope?.event?.type_url).toBe(typeUrl);
    const inner = containerd.events.TaskExit.decode(back.envelope?.event?.value ?? new Uint8Array());
    expect(inner.pid).toBe(7);
  });

  it('runtimeoptions.v1.Options: type_url 1, config_path 2', () => {
    const wire = runtimeoptions.v1.Options.encode({ typeUrl: 't', configPath: '/c' }).finish();
    expect(hex(wire)).toBe(h('0a 01', s('t'), '12 02', s('/c')));
    expect(runtimeoptions.v1.Options.decode(wire).configPath).toBe('/c');
  });
});

describe('kata oci.proto', () => {
  it('Spec with Process, Annotations and Linux.Resources', () => {
    const spec = {
      Version: '1.0.2',
      Process: {
        Terminal: true,
        User: { UID: 1000, GID: 1000 },
        Args: ['sh'],
        Cwd: '/',
        OOMScoreAdj: -998,
      },
      Annotations: { a: 'b' },
      Linux: {
        Resources: {
          Memory: { Limit: 268435456 },
          CPU: { Quota: 50000, Period: 100000 },
          Pids: { Limit: 100 },
        },
        CgroupsPath: '/k',
        Namespaces: [{ Type: 'pid' }],
      },
    };
    const processHex = h(
      '08 01',
      '1a 06 08 e8 07 10 e8 07',
      '22 02', s('sh'),
      '32 01', s('/'),
      '58 9a f8 ff ff ff ff ff ff ff 01',
    );
    const resourcesHex = h('12 06 08 80 80 80 80 01', '1a 08 10 d0 86 03 18 a0 8d 06', '22 02 08 64');
    const linuxHex = h('22 16', resourcesHex, '2a 02', s('/k'), '32 05 0a 03', s('pid'));
    const expected = h('0a 05', s('1.0.2'), '12 1c', processHex, '3a 06 0a 01', s('a'), '12 01', s('b'), '42 23', linuxHex);

    const wire = grpc.Spec.encode(spec).finish();
    expect(hex(wire)).toBe(expected);

    const back = grpc.Spec.decode(wire);
    expect(back.Process?.OOMScoreAdj).toBe(-998);
    expect(back.Process?.User?.UID).toBe(1000);
    expect(back.Linux?.Resources?.Memory?.Limit).toBe(268435456);
    expect(back.Linux?.Resources?.CPU?.Quota).toBe(50000);
    expect(back.Linux?.Resources?.CPU?.Period).toBe(100000);
    expect(back.Annotations).toEqual({ a: 'b' });
    expect(hex(grpc.Spec.encode(back).finish())).toBe(expected);
  });

  it('Hooks 4-6 and LinuxSyscall oneof errnoret', () => {
    expect(hex(grpc.Hooks.encode({ CreateRuntime: [{ Path: 'p' }], StartContainer: [{ Timeout: 5 }] }).finish())).toBe(
      h('22 03 0a 01', s('p'), '32 02 20 05'),
    );
    expect(hex(grpc.LinuxSyscall.encode({ Names: ['n'], Action: 'a', errnoret: 1 }).finish())).toBe(
      h('0a 01', s('n'), '12 01', s('a'), '18 01'),
    );
  });
});

describe('kata agent.proto', () => {
  it('CreateContainerRequest: OCI spec at 6, stdio ports at 9-11', () => {
    const msg = {
      containerId: 'c1',
      execId: 'c1',
      stringUser: { uid: '0', gid: '0' },
      devices: [{ id: 'd', type: 'blk' }],
      storages: [{ driver: 'local', source: 's', fstype: 'tmpfs', mountPoint: '/m', shared: true }],
      OCI: { Version: '1' },
      sandboxPidns: true,
      sharedMounts: [{ name: 'n' }],
      stdinPort: 3,
      stdoutPort: 4,
      stderrPort: 5,
    };
    const expected = h(
      '0a 02', s('c1'),
      '12 02', s('c1'),
      '1a 06 0a 01', s('0'), '12 01', s('0'),
      '22 08 0a 01', s('d'), '12 03', s('blk'),
      '2a 17 0a 05', s('local'), '1a 01', s('s'), '22 05', s('tmpfs'), '32 02', s('/m'), '40 01',
      '32 03 0a 01', s('1'),
      '38 01',
      '42 03 0a 01', s('n'),
      '48 03 50 04 58 05',
    );
    const wire = grpc.CreateContainerRequest.encode(msg).finish();
    expect(hex(wire)).toBe(expected);
    const back = grpc.CreateContainerRequest.decode(wire);
    expect(back.OCI?.Version).toBe('1');
    expect(back.storages[0]?.shared).toBe(true);
    expect(back.stderrPort).toBe(5);
    expect(hex(grpc.CreateContainerRequest.encode(back).finish())).toBe(expected);
  });

  it('OnlineCPUMemRequest: wait 1, nb_cpus 2, cpu_only 3', () => {
    expect(hex(grpc.OnlineCPUMemRequest.encode({ wait: false, nbCpus: 4, cpuOnly: true }).finish())).toBe('10041801');
    expect(hex(grpc.OnlineCPUMemRequest.encode({ wait: true, nbCpus: 0, cpuOnly: false }).finish())).toBe('0801');
    const back = grpc.OnlineCPUMemRequest.decode(bytes('08011002'));
    expect([back.wait, back.nbCpus, back.cpuOnly]).toEqual([true, 2, false]);
  });

  it('GuestDetailsResponse with AgentDetails (extra_features at 6)', () => {
    const msg = {
      memBlockSizeBytes: 134217728,
      agentDetails: {
        version: '3.32.0',
        initDaemon: true,
        deviceHandlers: ['blk'],
        storageHandlers: ['virtio-fs'],
        supportsSeccomp: true,
        extraFeatures: ['x'],
      },
      supportMemHotplugProbe: true,
    };
    const expected = h(
      '08 80 80 80 40',
      '12 1f', '0a 06', s('3.32.0'), '10 01', '1a 03', s('blk'), '22 09', s('virtio-fs'), '28 01', '32 01', s('x'),
      '18 01',
    );
    const wire = grpc.GuestDetailsResponse.encode(msg).finish();
    expect(hex(wire)).toBe(expected);
    const back = grpc.GuestDetailsResponse.decode(wire);
    expect(back.memBlockSizeBytes).toBe(134217728);
    expect(back.agentDetails?.storageHandlers).toEqual(['virtio-fs']);
    expect(back.supportMemHotplugProbe).toBe(true);
  });

  it('WaitProcessResponse.status is a signed int32', () => {
    expect(hex(grpc.WaitProcessResponse.encode({ status: 137 }).finish())).toBe('088901');
    const negative = grpc.WaitProcessResponse.encode({ status: -1 }).finish();
    expect(hex(negative)).toBe(h('08 ff ff ff ff ff ff ff ff ff 01'));
    expect(grpc.WaitProcessResponse.decode(negative).status).toBe(-1);
  });

  it('Storage: fs_group at 7 (group_id 2, policy 3), shared at 8', () => {
    const msg = {
      driver: 'd',
      fsGroup: { groupId: 1000, groupChangePolicy: types.FSGroupChangePolicy.OnRootMismatch },
      shared: true,
    };
    const wire = grpc.Storage.encode(msg).finish();
    expect(hex(wire)).toBe(h('0a 01', s('d'), '3a 05 10 e8 07 18 01', '40 01'));
    const back = grpc.Storage.decode(wire);
    expect(back.fsGroup?.groupId).toBe(1000);
    expect(back.fsGroup?.groupChangePolicy).toBe(1);
  });

  it('stream, signal, ttrpc-adjacent request messages', () => {
    expect(hex(grpc.ReadStreamRequest.encode({ containerId: 'c', execId: 'e', len: 32768 }).finish())).toBe(
      h('0a 01', s('c'), '12 01', s('e'), '18 80 80 02'),
    );
    expect(hex(grpc.WriteStreamRequest.encode({ containerId: 'c', data: bytes('ff') }).finish())).toBe(h('0a 01', s('c'), '1a 01 ff'));
    expect(hex(grpc.SignalProcessRequest.encode({ containerId: 'c', signal: 15 }).finish())).toBe(h('0a 01', s('c'), '18 0f'));
    expect(hex(grpc.TtyWinResizeRequest.encode({ row: 24, column: 80 }).finish())).toBe('18182050');
    expect(hex(grpc.ReseedRandomDevRequest.encode({ data: bytes('aa') }).finish())).toBe('1201aa');
    expect(hex(grpc.SetGuestDateTimeRequest.encode({ Sec: 1, Usec: 2 }).finish())).toBe('08011002');
    expect(hex(grpc.MemHotplugByProbeRequest.encode({ memHotplugProbeAddr: [1, 2] }).finish())).toBe('0a020102');
    expect(hex(grpc.CreateSandboxRequest.encode({ hostname: 'h', sandboxId: 'x', kernelModules: [{ name: 'm' }] }).finish())).toBe(
      h('0a 01', s('h'), '2a 01', s('x'), '3a 03 0a 01', s('m')),
    );
    expect(hex(grpc.GetDiagnosticDataRequest.encode({ logType: 'l', containerId: 'c' }).finish())).toBe(
      h('0a 01', s('l'), '12 01', s('c')),
    );
    expect(hex(grpc.MemAgentMemcgConfig.encode({ disabled: false, swappinessMax: 50 }).finish())).toBe('08001832');
  });

  it('StatsContainerResponse: CgroupStats maps and NetworkStats', () => {
    const msg = {
      cgroupStats: {
        cpuStats: { cpuUsage: { totalUsage: 10, percpuUsage: [4, 6] } },
        memoryStats: { usage: { usage: 5 }, stats: { rss: 1 } },
        hugetlbStats: { '2MB': { usage: 1 } },
      },
      networkStats: [{ name: 'eth0', rxBytes: 1, txDropped: 2 }],
    };
    const cgroupHex = h(
      '0a 08 0a 06 08 0a 12 02 04 06',
      '12 0d 12 02 08 05 32 07 0a 03', s('rss'), '10 01',
      '2a 09 0a 03', s('2MB'), '12 02 08 01',
    );
    const expected = h('0a 24', cgroupHex, '12 0a 0a 04', s('eth0'), '10 01 48 02');
    const wire = grpc.StatsContainerResponse.encode(msg).finish();
    expect(hex(wire)).toBe(expected);
    const back = grpc.StatsContainerResponse.decode(wire);
    expect(back.cgroupStats?.cpuStats?.cpuUsage?.percpuUsage).toEqual([4, 6]);
    expect(back.cgroupStats?.memoryStats?.stats).toEqual({ rss: 1 });
    expect(back.cgroupStats?.hugetlbStats?.['2MB']?.usage).toBe(1);
  });
});

describe('kata types.proto, health.proto, csi.proto', () => {
  it('Interface, Route and ARPNeighbor field numbers', () => {
    const iface = {
      device: 'd',
      name: 'n',
      IPAddresses: [{ family: types.IPFamily.v6, address: 'a', mask: '64' }],
      mtu: 1500,
      hwAddr: 'h',
      devicePath: 'p',
      type: 'veth',
      rawFlags: 1,
    };
    expect(hex(types.Interface.encode(iface).finish())).toBe(
      h(
        '0a 01', s('d'), '12 01', s('n'),
        '1a 09 08 01 12 01', s('a'), '1a 02', s('64'),
        '20 dc 0b', '2a 01', s('h'), '32 01', s('p'), '3a 04', s('veth'), '40 01',
      ),
    );
    expect(hex(types.Route.encode({ dest: 'x', gateway: 'g', device: 'd', scope: 253, family: types.IPFamily.v4, flags: 4 }).finish())).toBe(
      h('0a 01', s('x'), '12 01', s('g'), '1a 01', s('d'), '28 fd 01', '38 04'),
    );
    expect(hex(types.ARPNeighbor.encode({ toIPAddress: { address: 'a' }, lladdr: 'l', state: 128, flags: 0 }).finish())).toBe(
      h('0a 03 12 01', s('a'), '1a 01', s('l'), '20 80 01'),
    );
    expect(hex(grpc.Routes.encode({ Routes: [{ dest: 'x' }] }).finish())).toBe(h('0a 03 0a 01', s('x')));
  });

  it('Health and CSI messages', () => {
    expect(hex(grpc.HealthCheckResponse.encode({ status: grpc.HealthCheckResponse.ServingStatus.SERVING }).finish())).toBe('0801');
    expect(grpc.HealthCheckResponse.ServingStatus.NOT_SERVING).toBe(2);
    expect(hex(grpc.VersionCheckResponse.encode({ grpcVersion: 'g', agentVersion: 'a' }).finish())).toBe(
      h('0a 01', s('g'), '12 01', s('a')),
    );
    expect(
      hex(
        grpc.VolumeStatsResponse.encode({
          usage: [{ available: 1, total: 2, used: 1, unit: grpc.VolumeUsage.Unit.BYTES }],
          volumeCondition: { abnormal: false, message: 'OK' },
        }).finish(),
      ),
    ).toBe(h('0a 08 08 01 10 02 18 01 20 01', '12 04 12 02', s('OK')));
  });
});

describe('cgroups metrics (Stats payloads)', () => {
  it('io.containerd.cgroups.v1.Metrics, with packed per_cpu and high field numbers', () => {
    const msg = {
      hugetlb: [{ usage: 1, pagesize: '2MB' }],
      pids: { current: 3, limit: 10 },
      cpu: { usage: { total: 100, perCpu: [50, 50] }, throttling: { periods: 1 } },
      memory: { cache: 5, usage: { usage: 4096 }, kernelTcp: { limit: 1 } },
      cgroupStats: { nrRunning: 1 },
      memoryOomControl: { oomKill: 2 },
    };
    const expected = h(
      '0a 07 08 01 22 03', s('2MB'),
      '12 04 08 03 10 0a',
      '1a 0c 0a 06 08 64 22 02 32 32 12 02 08 01',
      '22 0d 08 05 8a 02 03 10 80 20 a2 02 02 08 01',
      '42 02 10 01',
      '4a 02 18 02',
    );
    const wire = cgv1.Metrics.encode(msg).finish();
    expect(hex(wire)).toBe(expected);
    const back = cgv1.Metrics.decode(wire);
    expect(back.cpu?.usage?.perCpu).toEqual([50, 50]);
    expect(back.memory?.usage?.usage).toBe(4096);
    expect(back.memory?.kernelTcp?.limit).toBe(1);
    expect(cgv1.Metrics.getTypeUrl('')).toBe('/io.containerd.cgroups.v1.Metrics');
  });

  it('io.containerd.cgroups.v2.Metrics (memory at 4, no field 3)', () => {
    const msg = {
      pids: { current: 1 },
      cpu: { usageUsec: 10, userUsec: 6, systemUsec: 4 },
      memory: { usage: 4096, usageLimit: 8192 },
      io: { usage: [{ major: 8, minor: 0, rbytes: 512 }] },
      hugetlb: [{ max: 1, pagesize: '2MB' }],
      memoryEvents: { oomKill: 1 },
    };
    const expected = h(
      '0a 02 08 01',
      '12 06 08 0a 10 06 18 04',
      '22 08 80 02 80 20 88 02 80 40',
      '32 07 0a 05 08 08 18 80 04',
      '3a 07 10 01 1a 03', s('2MB'),
      '42 02 28 01',
    );
    const wire = cgv2.Metrics.encode(msg).finish();
    expect(hex(wire)).toBe(expected);
    const back = cgv2.Metrics.decode(wire);
    expect(back.memory?.usageLimit).toBe(8192);
    expect(back.io?.usage?.[0]?.rbytes).toBe(512);
    expect(back.memoryEvents?.oomKill).toBe(1);
    expect(cgv2.Metrics.getTypeUrl('')).toBe('/io.containerd.cgroups.v2.Metrics');
  });
});

type Descriptor = {
  name: string;
  methods: Record<string, { requestType: unknown; responseType: unknown; requestStream: boolean; responseStream: boolean }>;
};

function expectService(svc: Descriptor, name: string, expected: Record<string, [unknown, unknown]>): void {
  expect(svc.name).toBe(name);
  expect(Object.keys(svc.methods).sort()).toEqual(Object.keys(expected).sort());
  for (const [method, [req, res]] of Object.entries(expected)) {
    const m = svc.methods[method];
    expect(m?.requestType, `${method} request`).toBe(req);
    expect(m?.responseType, `${method} response`).toBe(res);
    expect(m?.requestStream, `${method} unary`).toBe(false);
    expect(m?.responseStream, `${method} unary`).toBe(false);
  }
}

describe('service descriptors', () => {
  const Empty = google.protobuf.Empty;

  it('containerd.task.v2.Task has exactly the 17 shim methods', () => {
    const expected: Record<string, [unknown, unknown]> = {
      State: [task.StateRequest, task.StateResponse],
      Create: [task.CreateTaskRequest, task.CreateTaskResponse],
      Start: [task.StartRequest, task.StartResponse],
      Delete: [task.DeleteRequest, task.DeleteResponse],
      Pids: [task.PidsRequest, task.PidsResponse],
      Pause: [task.PauseRequest, Empty],
      Resume: [task.ResumeRequest, Empty],
      Checkpoint: [task.CheckpointTaskRequest, Empty],
      Kill: [task.KillRequest, Empty],
      Exec: [task.ExecProcessRequest, Empty],
      ResizePty: [task.ResizePtyRequest, Empty],
      CloseIO: [task.CloseIORequest, Empty],
      Update: [task.UpdateTaskRequest, Empty],
      Wait: [task.WaitRequest, task.WaitResponse],
      Stats: [task.StatsRequest, task.StatsResponse],
      Connect: [task.ConnectRequest, task.ConnectResponse],
      Shutdown: [task.ShutdownRequest, Empty],
    };
    expect(Object.keys(expected)).toHaveLength(17);
    expectService(containerd_task_v2_Task, 'containerd.task.v2.Task', expected);
  });

  it('containerd.services.events.ttrpc.v1.Events has Forward only', () => {
    expectService(containerd_services_events_ttrpc_v1_Events, 'containerd.services.events.ttrpc.v1.Events', {
      Forward: [containerd.services.events.ttrpc.v1.ForwardRequest, Empty],
    });
  });

  it('grpc.Health has Check and Version', () => {
    expectService(grpc_Health, 'grpc.Health', {
      Check: [grpc.CheckRequest, grpc.HealthCheckResponse],
      Version: [grpc.CheckRequest, grpc.VersionCheckResponse],
    });
  });

  it('grpc.AgentService has exactly the Kata 3.x methods', () => {
    const expected: Record<string, [unknown, unknown]> = {
      CreateContainer: [grpc.CreateContainerRequest, Empty],
      StartContainer: [grpc.StartContainerRequest, Empty],
      RemoveContainer: [grpc.RemoveContainerRequest, Empty],
      ExecProcess: [grpc.ExecProcessRequest, Empty],
      SignalProcess: [grpc.SignalProcessRequest, Empty],
      WaitProcess: [grpc.WaitProcessRequest, grpc.WaitProcessResponse],
      UpdateContainer: [grpc.UpdateContainerRequest, Empty],
      UpdateEphemeralMounts: [grpc.UpdateEphemeralMountsRequest, Empty],
      StatsContainer: [grpc.StatsContainerRequest, grpc.StatsContainerResponse],
      PauseContainer: [grpc.PauseContainerRequest, Empty],
      ResumeContainer: [grpc.ResumeContainerRequest, Empty],
      RemoveStaleVirtiofsShareMounts: [grpc.RemoveStaleVirtiofsShareMountsRequest, Empty],
      GetDiagnosticData: [grpc.GetDiagnosticDataRequest, grpc.GetDiagnosticDataResponse],
      WriteStdin: [grpc.WriteStreamRequest, grpc.WriteStreamResponse],
      ReadStdout: [grpc.ReadStreamRequest, grpc.ReadStreamResponse],
      ReadStderr: [grpc.ReadStreamRequest, grpc.ReadStreamResponse],
      CloseStdin: [grpc.CloseStdinRequest, Empty],
      TtyWinResize: [grpc.TtyWinResizeRequest, Empty],
      UpdateInterface: [grpc.UpdateInterfaceRequest, types.Interface],
      UpdateRoutes: [grpc.UpdateRoutesRequest, grpc.Routes],
      ListInterfaces: [grpc.ListInterfacesRequest, grpc.Interfaces],
      ListRoutes: [grpc.ListRoutesRequest, grpc.Routes],
      AddARPNeighbors: [grpc.AddARPNeighborsRequest, Empty],
      GetIPTables: [grpc.GetIPTablesRequest, grpc.GetIPTablesResponse],
      SetIPTables: [grpc.SetIPTablesRequest, grpc.SetIPTablesResponse],
      GetMetrics: [grpc.GetMetricsRequest, grpc.Metrics],
      MemAgentMemcgSet: [grpc.MemAgentMemcgConfig, Empty],
      MemAgentCompactSet: [grpc.MemAgentCompactConfig, Empty],
      CreateSandbox: [grpc.CreateSandboxRequest, Empty],
      DestroySandbox: [grpc.DestroySandboxRequest, Empty],
      OnlineCPUMem: [grpc.OnlineCPUMemRequest, Empty],
      ReseedRandomDev: [grpc.ReseedRandomDevRequest, Empty],
      GetGuestDetails: [grpc.GuestDetailsRequest, grpc.GuestDetailsResponse],
      MemHotplugByProbe: [grpc.MemHotplugByProbeRequest, Empty],
      SetGuestDateTime: [grpc.SetGuestDateTimeRequest, Empty],
      CopyFile: [grpc.CopyFileRequest, Empty],
      GetOOMEvent: [grpc.GetOOMEventRequest, grpc.OOMEvent],
      AddSwap: [grpc.AddSwapRequest, Empty],
      AddSwapPath: [grpc.AddSwapPathRequest, Empty],
      GetVolumeStats: [grpc.VolumeStatsRequest, grpc.VolumeStatsResponse],
      ResizeVolume: [grpc.ResizeVolumeRequest, Empty],
      SetPolicy: [grpc.SetPolicyRequest, Empty],
    };
    expect(Object.keys(expected)).toHaveLength(42);
    expectService(grpc_AgentService, 'grpc.AgentService', expected);
  });
});
