// A foreground runc copies the process's stdio through its own pipes and, once the
// process has exited, waits until every writer of those pipes is gone before it exits
// itself: an orphan still holding stdout (`sh -c 'daemon & echo started'`) would delay
// the exit status for as long as the orphan lives. But with --debug runc logs
// {"msg":"process exited","pid":N,"status":S} the moment it reaps the process, so the
// agent reads the status from runc's log instead of waiting for runc.
import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';

/** A safety net in case a file-change notification is missed. */
const POLL_MS = 1000;

export interface ExitLogWatch {
  /** The process's exit status (128+n for signal n), as runc reported it. */
  readonly status: Promise<number>;
  stop(): void;
}

export function parseExitLine(line: string, pid: number): number | undefined {
  if (!line.includes('process exited')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: string; pid?: number; status?: number };
    return entry.msg === 'process exited' && entry.pid === pid && typeof entry.status === 'number' ? entry.status : undefined;
  } catch {
    return undefined;
  }
}

export function watchExitLog(logFile: string, pid: number): ExitLogWatch {
  let offset = 0;
  let partial = '';
  let stopped = false;
  let scanning: Promise<void> | undefined;
  let again = false;
  let watcher: FSWatcher | undefined;
  let resolve!: (status: number) => void;
  const status = new Promise<number>((r) => (resolve = r));

  const readNew = async (): Promise<void> => {
    const fh = await open(logFile, 'r').catch(() => undefined);
    if (!fh) return;
    try {
      const buf = Buffer.allocUnsafe(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const lines = (partial + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const s = parseExitLine(line, pid);
          if (s !== undefined) {
            stop();
            resolve(s);
            return;
          }
        }
      }
    } finally {
      await fh.close();
    }
  };
  const scan = (): void => {
    if (stopped) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = readNew()
      .catch(() => undefined)
      .finally(() => {
        scanning = undefined;
        if (again) {
          again = false;
          scan();
        }
      });
  };
  const timer = setInterval(scan, POLL_MS);
  timer.unref();
  function stop(): void {
    stopped = true;
    clearInterval(timer);
    watcher?.close();
  }
  try {
    watcher = watch(logFile, scan);
    watcher.on('error', () => watcher?.close());
  } catch {
    // No notifications (file gone already?): the poll still sees the line.
  }
  scan();
  return { status, stop };
}
