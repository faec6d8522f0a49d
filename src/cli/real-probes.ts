// HostProbes against the real machine.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { arch, freemem, release } from 'node:os';
import { probeKvm, readHostFacts } from '../config/index.js';
import { parseMeminfo } from '../procfs/system.js';
import type { FileStatus, HostProbes, HostReport, VersionResult } from './host-probes.js';

/** A hung binary must not hang `check`; QEMU answers --version in milliseconds. */
const VERSION_TIMEOUT_MS = 5000;
const MiB = 1024 * 1024;
const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', s390x: 's390x', ppc64: 'ppc64le' };

const can = (path: string, mode: number): Promise<boolean> =>
  access(path, mode).then(
    () => true,
    () => false,
  );

async function file(path: string): Promise<FileStatus> {
  const st = await stat(path).catch(() => undefined);
  if (st === undefined) return { exists: false, isFile: false, readable: false, executable: false };
  return {
    exists: true,
    isFile: st.isFile(),
    readable: await can(path, constants.R_OK),
    executable: st.isFile() && (await can(path, constants.X_OK)),
  };
}

function commandVersion(path: string): Promise<VersionResult> {
  return new Promise((resolve) => {
    execFile(path, ['--version'], { timeout: VERSION_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `no answer within ${VERSION_TIMEOUT_MS / 1000}s` : (stderr.trim() || err.message);
        resolve({ ok: false, error: `${path} --version failed: ${why}` });
        return;
      }
      resolve({ ok: true, version: stdout.split('\n')[0]?.trim() ?? '' });
    });
  });
}

async function host(): Promise<HostReport> {
  const facts = await readHostFacts();
  const meminfo = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const available = parseMeminfo(meminfo).get('MemAvailable');
  return {
    ...facts,
    kernel: release(),
    architecture: GO_ARCH[arch()] ?? arch(),
    memoryAvailableMiB: Math.floor(available?.kB ? available.value / 1024 : freemem() / MiB),
  };
}

export const realHostProbes: HostProbes = {
  file,
  commandVersion,
  kvm: () => probeKvm(),
  vhostVsock: () => can('/dev/vhost-vsock', constants.F_OK),
  host,
};
