// Latency of a container Update through the sandbox, measured side by side on one VM:
// one that only changes guest cgroups, one that hotplugs a vCPU (until the guest has
// it online), one that hotplugs 256 MiB (until the blocks are online).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Sandbox } from '../src/sandbox/sandbox.js';
import { makeBusyboxRootfs, ociSpec } from '../test/guest/busybox-bundle.js';
import { MemoryStdio } from '../test/sandbox/fake-vm.js';
import { testVmConfig } from '../test/vm/vm-config.js';

const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return Math.round(performance.now() - t0);
}

export async function benchUpdate(rounds = 3): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-update-'));
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  makeBusyboxRootfs(join(bundle, 'rootfs'));
  const config = await testVmConfig(dir, { defaultMaxVcpus: 1 + rounds + 1 });
  const id = `bench-update-${process.pid}`;
  const sandbox = new Sandbox({ id, config, log, onEvent: () => undefined });
  const rows = { cgroupOnly: [] as number[], vcpu: [] as number[], memory: [] as number[] };
  try {
    const stdio = { stdin: '', stdout: '', stderr: '', terminal: false };
    await sandbox.createContainer({ id, bundle, spec: ociSpec('rootfs', ['sleep', '1000']), rootfs: [], stdio, io: new MemoryStdio() });
    await sandbox.start(id);
    let quota = 0;
    let memMiB = 0;
    for (let i = 0; i < rounds; i++) {
      rows.cgroupOnly.push(await timed(() => sandbox.update(id, { pids: { limit: 100 + i } })));
      quota += 100000;
      rows.vcpu.push(await timed(() => sandbox.update(id, { cpu: { quota, period: 100000 } })));
      memMiB += 256;
      rows.memory.push(await timed(() => sandbox.update(id, { memory: { limit: memMiB * MiB } })));
    }
    const r = sandbox.sizingReport();
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      [
        `Update latency through the sandbox (TCG, ${rounds} rounds, median [all]); VM now ${r.current?.vcpus} vCPUs, ${r.current?.memoryMiB} MiB:`,
        `  guest cgroups only                    ${med(rows.cgroupOnly)} ms  [${rows.cgroupOnly.join(', ')}]`,
        `  + hotplug 1 vCPU, onlined             ${med(rows.vcpu)} ms  [${rows.vcpu.join(', ')}]`,
        `  + hotplug 256 MiB, onlined            ${med(rows.memory)} ms  [${rows.memory.join(', ')}]`,
      ].join('\n'),
    );
  } finally {
    await sandbox.kill(id, '', 9).catch(() => undefined);
    await sandbox.wait(id);
    await sandbox.delete(id);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('update.ts')) await benchUpdate(Number(process.argv[2] ?? 3));
