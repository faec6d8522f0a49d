// Which sandboxes run on this node: every directory under the sandboxes' state root
// (/run/vc/sbs) that holds a shim's management socket. Read at each scrape, so a pod is
// seen from its first container to its last: the shim binds the socket after the first
// Create and removes it at the last Delete (Kata's monitor learns the same from CRI).
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MONITOR_SOCKET } from '../shim/monitor-server.js';

export interface SandboxSocket {
  readonly sandboxId: string;
  readonly socketPath: string;
}

/** Sorted by id; an unreadable or missing root means none. */
export async function findSandboxes(root: string): Promise<SandboxSocket[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const found = await Promise.all(
    entries
      .filter((e) => e.isDirectory())
      .map(async (e) => {
        const socketPath = join(root, e.name, MONITOR_SOCKET);
        const st = await lstat(socketPath).catch(() => undefined);
        return st?.isSocket() ? { sandboxId: e.name, socketPath } : undefined;
      }),
  );
  return found.filter((s): s is SandboxSocket => s !== undefined).sort((a, b) => (a.sandboxId < b.sandboxId ? -1 : a.sandboxId > b.sandboxId ? 1 : 0));
}
