// What a sandbox persists so that `containerd-shim-kata-v2 delete` can clean up after
// a shim that died: the VM's pid and run directory, and the shared directories.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, type Logger } from '../log/logger.js';
import { teardownPodNetwork, type PodNetwork } from '../network/index.js';
import { unmountAndRemove } from './mount-table.js';

/** Kata's per-sandbox state directory (the shim-monitor socket lives here too). */
export const SANDBOX_STATE_ROOT = '/run/vc/sbs';

export interface PersistedSandbox {
  readonly sandboxId: string;
  readonly vmPid?: number;
  readonly vmRunDir: string;
  readonly sharedRoot: string;
  readonly containers: readonly string[];
  /** The taps and tc filters set up in the pod's network namespace, if any. */
  readonly network?: PodNetwork;
}

export const sandboxStateDir = (sandboxId: string, root = SANDBOX_STATE_ROOT): string => join(root, sandboxId);

export async function saveSandboxState(s: PersistedSandbox, root = SANDBOX_STATE_ROOT): Promise<void> {
  const dir = sandboxStateDir(s.sandboxId, root);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, '.state.json');
  await writeFile(tmp, JSON.stringify(s));
  await rename(tmp, join(dir, 'state.json'));
}

export async function loadSandboxState(sandboxId: string, root = SANDBOX_STATE_ROOT): Promise<PersistedSandbox | undefined> {
  const text = await readFile(join(sandboxStateDir(sandboxId, root), 'state.json'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as PersistedSandbox);
}

const silentLogger = createLogger({ level: 'silent' });

/** True when `pid` is alive and its command line mentions `marker` (not a recycled pid). */
function processMatches(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

/**
 * Releases everything a dead shim left: the VM (virtiofsd exits with it), the pod
 * network's taps and filters, the mounts of the share, the run and state directories.
 * Safe to run twice.
 */
export async function cleanupSandbox(sandboxId: string, root = SANDBOX_STATE_ROOT, log?: Logger): Promise<PersistedSandbox | undefined> {
  const s = await loadSandboxState(sandboxId, root);
  if (s) {
    if (s.vmPid && processMatches(s.vmPid, s.vmRunDir)) {
      // A pod's sandbox and its containers are cleaned up concurrently: the VM may be gone already.
      try {
        process.kill(s.vmPid, 'SIGKILL');
      } catch {
        // ESRCH: exited since the check
      }
      for (let i = 0; i < 100 && existsSync(`/proc/${s.vmPid}`) && processMatches(s.vmPid, s.vmRunDir); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    if (s.network) await teardownPodNetwork(s.network, log ?? silentLogger);
    await unmountAndRemove(s.sharedRoot);
    await rm(s.vmRunDir, { recursive: true, force: true });
  }
  await rm(sandboxStateDir(sandboxId, root), { recursive: true, force: true });
  return s;
}
