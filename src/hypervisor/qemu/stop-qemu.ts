// Ending a QEMU process within a bound, whatever state it is in: `quit` when it can
// answer, SIGKILL at once when it is frozen (SIGSTOP), hung, or slow to exit after quit.
import { Code, RuntimeError } from '../../errors/index.js';
import type { SupervisedProcess } from '../supervised-process.js';
import type { QmpCommands } from './qmp-client.js';

export interface QemuStopBounds {
  /** Deadline of the `quit` command: past it QEMU's main loop is hung. */
  readonly quitTimeoutMs: number;
  /** How long QEMU gets to exit after `quit` (or SIGTERM without QMP) before SIGKILL. */
  readonly exitGraceMs: number;
  /** How long to wait for the kernel to reap QEMU after SIGKILL before giving up waiting. */
  readonly reapTimeoutMs: number;
}

/** Together about 5 s at worst, so a frozen sandbox never holds up containerd's delete. */
export const QEMU_STOP_BOUNDS: QemuStopBounds = { quitTimeoutMs: 1500, exitGraceMs: 1500, reapTimeoutMs: 2000 };

/** Stops QEMU and returns how, for the log; never waits longer than the bounds. */
export async function stopQemu(qemu: SupervisedProcess, qmp: QmpCommands | undefined, b: QemuStopBounds = QEMU_STOP_BOUNDS): Promise<string> {
  if (!qemu.running) return 'had already exited';
  let how: string;
  if (qemu.frozen) {
    how = 'killed (SIGKILL): it was stopped (SIGSTOP) and could not answer quit';
  } else if (qmp) {
    how = await quit(qemu, qmp, b);
  } else {
    // Still starting, no QMP yet: SIGTERM is QEMU's own clean shutdown.
    qemu.signal('SIGTERM');
    how = (await qemu.exitedWithin(b.exitGraceMs)) ? 'exited on SIGTERM' : `killed (SIGKILL): still running ${b.exitGraceMs} ms after SIGTERM`;
  }
  if (qemu.running) qemu.signal('SIGKILL');
  if (!(await qemu.exitedWithin(b.reapTimeoutMs))) how += `; not reaped within ${b.reapTimeoutMs} ms of SIGKILL`;
  return how;
}

async function quit(qemu: SupervisedProcess, qmp: QmpCommands, b: QemuStopBounds): Promise<string> {
  try {
    await qmp.execute('quit', undefined, { timeoutMs: b.quitTimeoutMs });
  } catch (err) {
    // A hung main loop will not exit either; a closed connection may just be QEMU exiting.
    if (err instanceof RuntimeError && err.code === Code.DEADLINE_EXCEEDED) return `killed (SIGKILL): ${err.message}`;
    if (!(await qemu.exitedWithin(b.exitGraceMs))) return `killed (SIGKILL): quit failed (${(err as Error).message})`;
    return 'exited after quit';
  }
  return (await qemu.exitedWithin(b.exitGraceMs)) ? 'exited after quit' : `killed (SIGKILL): still running ${b.exitGraceMs} ms after quit`;
}
