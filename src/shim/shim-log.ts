// The daemon's log: JSON lines into the bundle's `log` FIFO, which containerd reads and
// copies to its own log. Run by hand (no FIFO, or nobody reading it) it falls back to stderr.
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createLogger, type Logger } from '../log/logger.js';
import { LOG_FIFO } from './bundle.js';
import { SHIM_NAME } from './version.js';

export interface ShimLog {
  readonly log: Logger;
  close(): void;
}

export function openShimLog(bundle: string, debug: boolean, base: Record<string, string>): ShimLog {
  let fd: number;
  try {
    // Non-blocking so a FIFO without a reader fails (ENXIO) instead of hanging the
    // daemon; containerd keeps the read side open, and pino retries on EAGAIN.
    fd = openSync(join(bundle, LOG_FIFO), constants.O_WRONLY | constants.O_NONBLOCK | constants.O_APPEND);
  } catch {
    fd = 2;
  }
  const dest = pino.destination({ dest: fd, sync: true });
  // A reader that goes away (containerd restarting) must not crash the shim: drop lines.
  dest.on('error', () => undefined);
  const log = createLogger({ level: debug ? 'debug' : 'info', destination: dest, base: { name: SHIM_NAME, ...base } });
  return {
    log,
    close: () => {
      if (fd === 2) return;
      try {
        dest.flushSync();
        closeSync(fd);
      } catch {
        // nothing left to report it to
      }
    },
  };
}
