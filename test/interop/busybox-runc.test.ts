// The test harness itself: a private containerd, the locally built busybox image, and
// `ctr run --rm` with the default runc runtime. Later tests rely on all three.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxOci } from '../../scripts/image/busybox-oci.mjs';
import { startContainerd, type Containerd } from '../support/containerd.js';
import { importBusybox } from '../support/images.js';
import { mountsUnder } from '../support/mounts.js';

/** Container ids are unique: runc keeps state in /run/containerd/runc/<ns>/<id>, shared by every containerd. */
const uniqueId = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

describe('busybox image in a private containerd with runc', () => {
  let cd: Containerd;
  let image: string;

  beforeAll(async () => {
    cd = await startContainerd();
    image = await importBusybox(cd);
  });

  afterAll(async () => {
    if (!cd) return;
    const report = await cd.stop();
    expect(report).toEqual({ leftoverTasks: [], killedShims: [], unmounted: [] });
    expect(mountsUnder(cd.dir)).toEqual([]);
  });

  it('builds the image layout deterministically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bbx-'));
    try {
      const a = await buildBusyboxOci({ out: join(dir, 'a.tar'), name: 'example.com/test/busybox:v1' });
      const b = await buildBusyboxOci({ out: join(dir, 'b.tar'), name: 'example.com/test/busybox:v1' });
      expect(a.cached).toBe(false);
      expect(b.digest).toBe(a.digest);
      expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const again = await buildBusyboxOci({ out: join(dir, 'a.tar'), name: 'example.com/test/busybox:v1' });
      expect(again).toMatchObject({ cached: true, digest: a.digest });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('imports under its annotated name', async () => {
    const refs = await cd.ctrOk(['images', 'ls', '-q']);
    expect(refs.split('\n')).toContain(image);
  });

  it('runs echo with runc and removes the container', async () => {
    const r = await cd.ctr(['run', '--rm', image, uniqueId('echo'), 'echo', 'hello']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect((await cd.ctrOk(['containers', 'ls', '-q'])).trim()).toBe('');
  });

  it('has the applets, users and directories a test shell needs', async () => {
    const script = 'for a in sh echo cat ls sleep uname nproc true false id ps top; do command -v $a >/dev/null || echo missing $a; done; id -un; test -d /tmp && test -d /proc && echo ok';
    const r = await cd.ctr(['run', '--rm', image, uniqueId('applets'), 'sh', '-c', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('root\nok\n');
  });

  it('also works with the native snapshotter', async () => {
    const native = await startContainerd({ snapshotter: 'native' });
    try {
      const ref = await importBusybox(native);
      const r = await native.ctr(['run', '--rm', ref, uniqueId('native'), 'uname', '-s']);
      expect(r.stdout).toBe('Linux\n');
    } finally {
      expect((await native.stop()).unmounted).toEqual([]);
    }
  });

  // Fast: this test's own timeout is well under the 15 s start-up wait it must not sit out.
  it('fails fast with containerd\'s log when the config is broken', async () => {
    const err = await startContainerd({ extraConfig: '[grpc]\naddress = "/nowhere"' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).toMatch(/exited early[\s\S]*failed to load TOML/);
  }, 5_000);
});
