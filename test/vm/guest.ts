// A booted test guest for VM tests: the project's guest under QEMU with the test
// configuration, a sandbox created in it, and a busybox rootfs to run probe containers from.
import { expect } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { KataConfig } from '../../src/config/index.js';
import type { Mount } from '../../src/oci/runtime-spec.js';
import { bootSandboxVm, sharedFsStorage, type SandboxVm } from '../../src/sandbox/sandbox-vm.js';
import { GUEST_SHARED_DIR } from '../../src/sandbox/shared-fs.js';
import { makeBusyboxRootfs, ociSpec } from '../guest/busybox-bundle.js';
import { readStdoutToEnd } from './agent-output.js';
import { testVmConfig, type TestVmConfig } from './vm-config.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface Guest {
  readonly vm: SandboxVm;
  readonly config: KataConfig;
  /** The guest's temp dir (its shared directory is `shared/` in it); removed by stop(). */
  readonly dir: string;
  /** Runs a command in a fresh container (with `mounts` added), expects exit 0, returns its stdout. */
  run(cmd: string, mounts?: readonly Mount[]): Promise<string>;
  stop(): Promise<void>;
}

export async function bootGuest(id: string, o: TestVmConfig = {}): Promise<Guest> {
  const dir = mkdtempSync(join(tmpdir(), `vm-${id}-`));
  mkdirSync(join(dir, 'shared/probe/rootfs'), { recursive: true });
  makeBusyboxRootfs(join(dir, 'shared/probe/rootfs'));
  const config = await testVmConfig(dir, o);
  const vm = await bootSandboxVm({ sandboxId: id, config, sharedDir: join(dir, 'shared'), runDir: join(dir, 'vm'), vcpus: 1, memoryMiB: 512, log });
  await vm.agent.createSandbox({ sandboxId: id, hostname: 'h', storages: [sharedFsStorage()] });
  let n = 0;
  return {
    vm,
    config,
    dir,
    async run(cmd, mounts = []) {
      const cid = `probe${n++}`;
      const spec = ociSpec(`${GUEST_SHARED_DIR}/probe/rootfs`, ['sh', '-c', cmd]);
      spec.mounts = [...(spec.mounts ?? []), ...mounts];
      await vm.agent.createContainer({ containerId: cid, spec });
      await vm.agent.startContainer(cid);
      const out = await readStdoutToEnd(vm.agent, cid, cid);
      expect(await vm.agent.waitProcess(cid, cid)).toBe(0);
      await vm.agent.removeContainer(cid);
      return out.trim();
    },
    async stop() {
      vm.agent.close();
      await vm.hypervisor.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
