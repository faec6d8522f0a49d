// Demo until the shim daemon lands: boot the guest with the installed configuration,
// run `uname -r` in a busybox container inside it through the agent, print the
// output, stop the VM.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/log/logger.js';
import { bootSandboxVm, sharedFsStorage, GUEST_SHARED_DIR } from '../src/sandbox/sandbox-vm.js';

const log = createLogger({ level: 'warn' });
const config = await loadConfig({ path: process.argv[2] });
const dir = mkdtempSync(join(tmpdir(), 'kata-demo-'));
const rootfs = join(dir, 'shared', 'demo', 'rootfs');
for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
for (const a of ['sh', 'uname', 'cat']) symlinkSync('busybox', join(rootfs, 'bin', a));

const vm = await bootSandboxVm({
  sandboxId: 'demo',
  config,
  sharedDir: join(dir, 'shared'),
  runDir: join(dir, 'vm'),
  vcpus: Math.ceil(config.hypervisor.defaultVcpus),
  memoryMiB: config.hypervisor.defaultMemoryMiB,
  log,
});
try {
  console.log(`VM up, agent answering after ${vm.bootMs} ms (QEMU pid ${vm.hypervisor.pid})`);
  await vm.agent.createSandbox({ sandboxId: 'demo', hostname: 'demo', storages: [sharedFsStorage()] });
  await vm.agent.createContainer({
    containerId: 'demo',
    spec: {
      ociVersion: '1.0.2',
      process: { user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'echo "container kernel: $(uname -r)"'], env: ['PATH=/bin'], cwd: '/' },
      root: { path: `${GUEST_SHARED_DIR}/demo/rootfs` },
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
      linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }] },
    },
  });
  await vm.agent.startContainer('demo');
  for (let c = await vm.agent.readStdout('demo', 'demo', 32768); c.length; c = await vm.agent.readStdout('demo', 'demo', 32768)) {
    process.stdout.write(Buffer.from(c));
  }
  console.log(`exit status ${await vm.agent.waitProcess('demo', 'demo')}`);
} finally {
  vm.agent.close();
  await vm.hypervisor.stop();
  rmSync(dir, { recursive: true, force: true });
}
