// The shim's lifecycle driven by a real (private) containerd 1.6 through `ctr run`. With
// the stub task service Create answers UNIMPLEMENTED; containerd then calls Delete
// (UNIMPLEMENTED too), Shutdown (the daemon exits), sees the disconnect, runs the `delete`
// binary and removes the bundle. Nothing of ours may be left afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shimSocketPath } from '../../src/shim/address.js';
import { startContainerd, type Containerd } from '../support/containerd.js';
import { importBusybox } from '../support/images.js';
import { shimTrees } from '../support/shim-leftovers.js';
import { waitUntil } from '../support/wait.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const SHIM = join(ROOT, 'dist/containerd-shim-kata-v2.cjs');
const binDir = mkdtempSync('/tmp/shim-bin-');
let ctrd: Containerd;
let image: string;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'src/gen/proto.js'))) execFileSync('npm', ['run', 'gen'], { cwd: ROOT, stdio: 'ignore' });
  execFileSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs')], { cwd: ROOT });
  // What scripts/install-shim.sh does, into a private directory on containerd's PATH.
  symlinkSync(SHIM, join(binDir, 'containerd-shim-kata-v2'));
  ctrd = await startContainerd({ extraPath: [binDir] });
  image = await importBusybox(ctrd);
}, 180_000);

afterAll(async () => {
  const report = await ctrd?.stop();
  rmSync(binDir, { recursive: true, force: true });
  expect(report?.killedShims ?? []).toEqual([]);
  expect(report?.leftoverTasks ?? []).toEqual([]);
});

const bundleGone = (bundles: string, id: string): Promise<void> =>
  waitUntil(() => !existsSync(bundles) || !readdirSync(bundles).includes(id), { what: `containerd to remove the bundle of ${id}` });

describe.each([
  ['the runtime name io.containerd.kata.v2 (shim found on PATH)', 'io.containerd.kata.v2'],
  ['an absolute runtime path', SHIM],
])('ctr run --rm with %s', (_name, runtime) => {
  it('fails at Create (--net-host is refused) and leaves no shim, socket or bundle behind', async () => {
    const id = `lc-ctrd-${process.pid}-${runtime === SHIM ? 'abs' : 'name'}`;
    const r = await ctrd.ctr(['run', '--runtime', runtime, '--rm', '--net-host', image, id, 'true'], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('failed to create shim task: container');
    expect(r.stderr).toContain('host networking (--net-host) is not supported by VM sandboxes');

    const bundles = join(ctrd.state, 'io.containerd.runtime.v2.task', 'default');
    await waitUntil(() => shimTrees(ctrd.address).length === 0, { what: 'every shim process to exit' });
    expect(existsSync(shimSocketPath(ctrd.address, 'default', id))).toBe(false);
    await bundleGone(bundles, id);
    expect((await ctrd.ctrOk(['containers', 'ls', '-q'])).split('\n')).not.toContain(id);

    const log = ctrd.logs();
    // The daemon's JSON lines arrived through the bundle's log FIFO.
    expect(log).toMatch(new RegExp(`"id":"${id}".*"msg":"shim daemon listening"`));
    expect(log).toMatch(new RegExp(`"id":"${id}".*"msg":"shutdown requested by containerd"`));
    // containerd's own view: the shim disconnected, cleanup (`delete`) ran quietly.
    expect(log).toMatch(new RegExp(`shim disconnected.*id=${id}`));
    expect(log).toContain('cleaning up dead shim');
    expect(log).not.toMatch(/cleanup warnings/);
    expect(log).not.toMatch(/failed to clean up after shim disconnected/);
  });
});

describe('ctr run of a pod container whose sandbox has no shim', () => {
  it('fails at start with our one-line reason and leaves nothing behind', async () => {
    const id = `lc-ctrd-${process.pid}-orphan`;
    const annotations = ['io.kubernetes.cri.container-type=container', `io.kubernetes.cri.sandbox-id=nosuch-${process.pid}`];
    const r = await ctrd.ctr(['run', '--runtime', 'io.containerd.kata.v2', ...annotations.flatMap((a) => ['--annotation', a]), '--rm', image, id, 'true'], {
      timeoutMs: 60_000,
    });
    expect(r.code).not.toBe(0);
    // start's combined output becomes containerd's error text.
    expect(r.stderr).toContain(`start failed: containerd-shim-kata-v2 start: sandbox nosuch-${process.pid} has no running shim`);
    const bundles = join(ctrd.state, 'io.containerd.runtime.v2.task', 'default');
    await bundleGone(bundles, id);
    expect(shimTrees(ctrd.address)).toEqual([]);
  });
});
