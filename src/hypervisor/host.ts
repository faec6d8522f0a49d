// Host facts the hypervisor layer needs at VM launch, read once per process.
import { closeSync, constants, openSync, readFileSync } from 'node:fs';

/**
 * The host TSC rate in kHz, so a TCG guest can skip its slow calibration. The kernel
 * log has the refined value; /proc/cpuinfo's "cpu MHz" is the fallback.
 */
export function hostTscKhz(): number | undefined {
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(cpuinfo);
    return m ? Math.round(Number(m[1]) * 1000) : undefined;
  } catch {
    return undefined;
  }
}


/** Whether the in-kernel virtio-net backend can be used: /dev/vhost-net opens read-write. */
export function vhostNetAvailable(path = '/dev/vhost-net'): boolean {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}
