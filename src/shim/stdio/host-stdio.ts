// containerd's FIFOs as the sandbox's HostStdio: opened at Create/Exec (never blocking),
// copying once the sandbox attaches the guest process's streams at Start.
import type { Logger } from '../../log/logger.js';
import type { HostStdio, ProcessStreams } from '../../sandbox/sandbox.js';
import { openProcessIo } from './process-io.js';
import { attach, type StdioCopy } from './stdio-copy.js';
import type { StdioPaths } from './stdio-plan.js';

export async function openHostStdio(paths: StdioPaths, log: Logger): Promise<HostStdio> {
  const io = await openProcessIo(paths, log);
  let copy: StdioCopy | undefined;
  let attached!: () => void;
  const started = new Promise<void>((r) => (attached = r));
  return {
    attach(streams: ProcessStreams) {
      if (copy) return;
      copy = attach(io, streams);
      attached();
    },
    // Never attached: there is no output to wait for once the process is gone.
    outputDone: started.then(() => copy!.outputDone),
    closeStdin: async () => copy?.closeStdin(),
    close: () => io.close(),
  };
}
