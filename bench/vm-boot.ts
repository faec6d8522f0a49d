// Guest boot figures, measured side by side in one run: QEMU start → the project's
// agent answering Health.Check, next to the same kernel and initramfs booting to a
// bare /init marker; and the guest memory in use once the agent is up.
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { probeKvm, resolveAccel } from '../src/config/index.js';
import { hostTscKhz } from '../src/hypervisor/host.js';
import { qemuLaunchSpec } from '../src/hypervisor/qemu/launch-spec.js';
import { QemuHypervisor, qemuRunPaths } from '../src/hypervisor/qemu/qemu.js';
import { bootSandboxVm, sharedFsStorage } from '../src/sandbox/sandbox-vm.js';
import { GUEST_SHARED_DIR } from '../src/sandbox/shared-fs.js';
import { makeBusyboxRootfs, ociSpec } from '../test/guest/busybox-bundle.js';
import { testVmConfig } from '../test/vm/vm-config.js';
import { readStdoutToEnd } from '../test/vm/agent-output.js';
import { median } from './stats.js';

const log = pino({ level: 'silent' });
const MARKER = 'KATA_GUEST_INIT_MARKER';

export interface VmBootFigures {
  agentReadyMs: number[];
  bareInitMs: number[];
  guestMemUsedMiB: number;
  guestMemTotalMiB: number;
}


async function bareBoot(dir: string, i: number): Promise<number> {
  const config = await testVmConfig(dir, { kernelParams: `kata.init_marker 8250.nr_uarts=1` });
  const runDir = join(dir, `bare-${i}`);
  const spec = qemuLaunchSpec(config.hypervisor, {
    sandboxId: `bench-bare-${i}`,
    runDir,
    accel: resolveAccel(config.hypervisor.accel, await probeKvm()),
    vcpus: 1,
    maxVcpus: 4,
    memoryMiB: 512,
    maxMemoryMiB: config.hypervisor.defaultMaxMemoryMiB,
    debug: false,
    tscKhz: hostTscKhz(),
  });
  // Same machine, kernel and initramfs as a sandbox; no virtio-fs (nothing mounts it).
  const vm = new QemuHypervisor({ spec: { ...spec, sharedFs: undefined }, runDir, log });
  const t0 = Date.now();
  await vm.start();
  const consolePath = qemuRunPaths(runDir).console;
  try {
    for (;;) {
      if (readFileSync(consolePath, 'utf8').includes(MARKER)) return Date.now() - t0;
      if (Date.now() - t0 > 60_000) throw new Error('bare boot: no marker within 60 s');
      await sleep(5);
    }
  } finally {
    await vm.stop();
  }
}

async function agentBoot(dir: string, i: number, measureMemory: boolean): Promise<{ ms: number; usedMiB?: number; totalMiB?: number }> {
  const config = await testVmConfig(dir);
  const shared = join(dir, `shared-${i}`);
  mkdirSync(join(shared, 'm', 'rootfs'), { recursive: true });
  const vm = await bootSandboxVm({ sandboxId: `bench-agent-${i}`, config, sharedDir: shared, runDir: join(dir, `agent-${i}`), vcpus: 1, memoryMiB: 512, log });
  try {
    if (!measureMemory) return { ms: vm.bootMs };
    makeBusyboxRootfs(join(shared, 'm', 'rootfs'));
    await vm.agent.createSandbox({ sandboxId: 'bench', hostname: 'bench', storages: [sharedFsStorage()] });
    await vm.agent.createContainer({ containerId: 'm', spec: ociSpec(`${GUEST_SHARED_DIR}/m/rootfs`, ['cat', '/proc/meminfo']) });
    await vm.agent.startContainer('m');
    const text = await readStdoutToEnd(vm.agent, 'm', 'm');
    const kib = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { ms: vm.bootMs, usedMiB: Math.round((kib('MemTotal') - kib('MemAvailable')) / 1024), totalMiB: Math.round(kib('MemTotal') / 1024) };
  } finally {
    vm.agent.close();
    await vm.hypervisor.stop();
  }
}

export async function benchVmBoot(runs = 3): Promise<VmBootFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-vm-'));
  const fig: VmBootFigures = { agentReadyMs: [], bareInitMs: [], guestMemUsedMiB: NaN, guestMemTotalMiB: NaN };
  try {
    // Interleaved so machine load drifts affect both the same way.
    for (let i = 0; i < runs; i++) {
      fig.bareInitMs.push(await bareBoot(dir, i));
      const a = await agentBoot(dir, i, i === 0);
      fig.agentReadyMs.push(a.ms);
      if (a.usedMiB !== undefined) {
        fig.guestMemUsedMiB = a.usedMiB;
        fig.guestMemTotalMiB = a.totalMiB!;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    [
      `VM boot (TCG, ${runs} runs each, median [all]):`,
      `  QEMU start → bare /init marker       ${median(fig.bareInitMs)} ms  [${fig.bareInitMs.join(', ')}]`,
      `  QEMU start → agent answers Health    ${median(fig.agentReadyMs)} ms  [${fig.agentReadyMs.join(', ')}]`,
      `  guest memory in use after boot       ${fig.guestMemUsedMiB} MiB of ${fig.guestMemTotalMiB} MiB (MemTotal − MemAvailable)`,
    ].join('\n'),
  );
  return fig;
}

if (process.argv[1]?.endsWith('vm-boot.ts')) await benchVmBoot(Number(process.argv[2] ?? 3));
