// Reads the host facts configuration depends on: CPU count and RAM (for Kata's
// normalisations) and KVM availability (for accel = "auto").
import { constants } from 'node:fs';
import { access, open, readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import type { KvmStatus } from './accel.js';
import type { HostFacts } from './types.js';

const MiB = 1024 * 1024;

/** Kata counts the "processor" lines of /proc/cpuinfo; Node's count is the fallback. */
export async function readHostFacts(cpuinfoPath = '/proc/cpuinfo'): Promise<HostFacts> {
  const cpuinfo = await readFile(cpuinfoPath, 'utf8').catch(() => '');
  const counted = cpuinfo.split('\n').filter((l) => l.startsWith('processor')).length;
  return { cpus: counted > 0 ? counted : Math.max(1, cpus().length), memoryMiB: Math.floor(totalmem() / MiB) };
}

export async function probeKvm(device = '/dev/kvm', cpuinfoPath = '/proc/cpuinfo'): Promise<KvmStatus> {
  const devicePresent = await access(device, constants.F_OK).then(
    () => true,
    () => false,
  );
  let openable = false;
  if (devicePresent) {
    const fh = await open(device, 'r+').catch(() => undefined);
    openable = fh !== undefined;
    await fh?.close();
  }
  const cpuinfo = await readFile(cpuinfoPath, 'utf8').catch(() => '');
  const hardwareVirt = /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
  return { devicePresent, openable, hardwareVirt };
}
