// Private named network namespaces for tests (`ip netns add`), and commands run inside
// one through `nsenter --net` only: `ip netns exec` also unshares the mount namespace
// (to remount /sys), and containerd must keep the host's mount namespace.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runCommand, type CommandResult, type RunCommandOptions } from './run-command.js';

export interface Netns {
  readonly name: string;
  /** The bind-mounted namespace file, for `nsenter --net=<path>` or a runtime spec. */
  readonly path: string;
}

const NETNS_DIR = '/run/netns';

/** Names this process created and has not deleted yet: deleted by the exit hook. */
const created = new Set<string>();
let counter = 0;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Order against containerd.ts's hook (which SIGKILLs containerd) does not matter: deleting
  // the name only unmounts it, the kernel frees the namespace once its last process is gone.
  process.on('exit', () => {
    for (const name of created) spawnSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
  });
}

function ipOk(args: readonly string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: exit ${r.status ?? r.signal}: ${(r.stderr ?? '').trim()}`);
}

/** A unique name per process and call: "kt-<pid36>-<n>", e.g. kt-1a2b-3. */
export function uniqueNetnsName(prefix = 'kt'): string {
  counter += 1;
  return `${prefix}-${process.pid.toString(36)}-${counter}`;
}

/** Creates a fresh network namespace with `lo` up. */
export function createNetns(name: string = uniqueNetnsName()): Netns {
  const path = `${NETNS_DIR}/${name}`;
  if (existsSync(path)) throw new Error(`netns ${name} already exists`);
  installExitHook();
  ipOk(['netns', 'add', name]);
  created.add(name);
  try {
    ipOk(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    deleteNetns({ name, path });
    throw e;
  }
  return { name, path };
}

/** Deletes a namespace this process created; a name it did not create is refused. */
export function deleteNetns(ns: Netns): void {
  if (!created.has(ns.name)) throw new Error(`netns ${ns.name} was not created by this process`);
  if (existsSync(ns.path)) ipOk(['netns', 'delete', ns.name]);
  created.delete(ns.name);
}

/** The namespaces this process created and has not deleted yet. */
export function liveNetns(): string[] {
  return [...created];
}

/** The argv prefix that runs a command inside `ns` (nsenter execs it: same pid, same mount namespace). */
export function nsenterArgs(ns: Netns): string[] {
  return [`--net=${ns.path}`, '--'];
}

/** Runs a short command inside `ns`; never throws on a non-zero exit. */
export function execInNetns(ns: Netns, cmd: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  if (cmd.length === 0) throw new Error('execInNetns: empty command');
  return runCommand('nsenter', [...nsenterArgs(ns), ...cmd], options);
}
