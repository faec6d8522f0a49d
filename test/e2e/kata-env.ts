// What every kata e2e file needs: a private containerd whose PATH holds the bundled shim
// and whose KATA_CONF_FILE boots the project's guest, plus the busybox image.
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupSandbox } from '../../src/sandbox/state-store.js';
import { startContainerd, type Containerd } from '../support/containerd.js';
import { connectEvents, type EventStream } from '../support/containerd-events.js';
import { importBusybox } from '../support/images.js';
import { testVmConfig, type TestVmConfig } from '../vm/vm-config.js';

const DIST = join(import.meta.dirname, '../../dist');
export const RUNTIME = 'io.containerd.kata.v2';

export interface KataEnv {
  readonly cd: Containerd;
  readonly image: string;
  /** containerd's /tasks/* events, subscribed before any test ran. */
  readonly taskEvents: EventStream;
  /**
   * Stops containerd (deleting leftover tasks through it); then, should a shim have been
   * SIGKILLed on the way, releases what it recorded for `sandboxIds` (VM, mounts, dirs).
   */
  stop(sandboxIds?: readonly string[]): Promise<void>;
}

export async function startKataEnv(vm: TestVmConfig = {}): Promise<KataEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(join(DIST, 'containerd-shim-kata-v2.cjs'), join(bin, 'containerd-shim-kata-v2'));
  await testVmConfig(dir, vm);
  const cd = await startContainerd({ extraPath: [bin], env: { KATA_CONF_FILE: join(dir, 'configuration.toml') } });
  const image = await importBusybox(cd);
  const events = connectEvents(cd.address);
  const taskEvents = await events.subscribe([`topic~="/tasks/"`]);
  return {
    cd,
    image,
    taskEvents,
    async stop(sandboxIds = []) {
      taskEvents.close();
      events.close();
      await cd.stop();
      for (const id of sandboxIds) await cleanupSandbox(id);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last answer. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, stepMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** ctr run flags that make a container CRI's pod sandbox or a container of that pod. */
export function podAnnotations(sandboxId: string, type: 'sandbox' | 'container'): string[] {
  return ['--annotation', `io.kubernetes.cri.container-type=${type}`, '--annotation', `io.kubernetes.cri.sandbox-id=${sandboxId}`];
}
