// Finds what a private containerd's shims left when they outlived it (containerd crashed or
// was killed): the shim processes with their children, their sockets, runc's state.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** The /proc entries of live processes: pid → (parent pid, argv). */
function processTable(): Map<number, { ppid: number; argv: string[] }> {
  const table = new Map<number, { ppid: number; argv: string[] }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      table.set(Number(entry), { ppid, argv: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') });
    } catch {
      continue; // exited meanwhile
    }
  }
  return table;
}

/**
 * Shims started by this instance (argv has `-address <address>`) and their descendants
 * (container processes, a kata shim's VM), children first: the order to kill them in.
 */
export function shimTrees(address: string): number[] {
  const table = processTable();
  const shims = [...table].filter(([, p]) => {
    const i = p.argv.indexOf('-address');
    return i !== -1 && p.argv[i + 1] === address;
  });
  const order: number[] = [];
  const visit = (pid: number): void => {
    for (const [child, p] of table) if (p.ppid === pid) visit(child);
    order.push(pid);
  };
  for (const [pid] of shims) visit(pid);
  return order;
}

/**
 * What SIGKILLed shims leave behind, found through the bundles containerd could not delete:
 * the shim socket in /run/containerd/s and, for runc, its state in /run/containerd/runc.
 * Synchronous, so a process exit hook can run it too.
 */
export function cleanAfterKilledShims(state: string): void {
  const tasks = join(state, 'io.containerd.runtime.v2.task');
  if (!existsSync(tasks)) return;
  for (const ns of readdirSync(tasks)) {
    for (const id of readdirSync(join(tasks, ns))) {
      const file = join(tasks, ns, id, 'address');
      const socket = existsSync(file) ? readFileSync(file, 'utf8').trim().replace(/^unix:\/\//, '') : '';
      if (socket.startsWith('/run/containerd/s/')) rmSync(socket, { force: true });
      const runcRoot = join('/run/containerd/runc', ns);
      if (existsSync(join(runcRoot, id))) spawnSync('runc', ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
    }
  }
}
