import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRootfs, guestSpec } from '../../src/guest/container-bundle.js';
import { mergeResources } from '../../src/guest/container.js';
import { toContainerId, toExecId } from '../../src/guest/ids.js';
import { checkContainerSpec, checkExecProcess } from '../../src/guest/spec-check.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { ociProcess, ociSpec } from './busybox-bundle.js';

function rejects(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as RuntimeError).message).toMatch(message);
    return;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('spec checks', () => {
  const id = toContainerId('c1');

  it('accepts a runc-style spec and returns its process', () => {
    expect(checkContainerSpec(id, ociSpec('/r', ['sh'])).args).toEqual(['sh']);
  });

  it('accepts namespace paths: they name host namespaces, which the pod\'s replace', () => {
    const spec = ociSpec('/r', ['sh'], { linux: { namespaces: [{ type: 'ipc', path: '/proc/1/ns/ipc' }, { type: 'network', path: '/var/run/netns/cni-1' }] } });
    expect(checkContainerSpec(id, spec).args).toEqual(['sh']);
  });

  it('names the reason for each refusal', () => {
    rejects(() => checkContainerSpec(id, ociSpec('/r', [])), /container c1: process args are empty/);
    rejects(() => checkContainerSpec(id, { ...ociSpec('/r', ['sh']), process: undefined }), /no process/);
    rejects(() => checkContainerSpec(id, { ...ociSpec('/r', ['sh']), root: undefined }), /no root path/);
    rejects(() => checkContainerSpec(id, ociSpec('/r', ['sh'], { process: { cwd: 'rel' } })), /cwd "rel" is not an absolute path/);
    rejects(() => checkContainerSpec(id, ociSpec('/r', ['sh'], { process: { env: ['NOEQUALS'] } })), /not KEY=VALUE/);
    rejects(() => checkContainerSpec(id, ociSpec('/r', ['sh'], { linux: { namespaces: [{ type: 'bogus' as 'pid' }] } })), /unknown namespace/);
    rejects(() => checkExecProcess('c1', 'e1', undefined), /exec e1: no process/);
    rejects(() => checkExecProcess('c1', 'e1', ociProcess([''])), /exec e1: process args are empty/);
  });

  it('refuses ids that are not safe as paths and runc ids', () => {
    expect(toContainerId('abc-1.2_x+y')).toBe('abc-1.2_x+y');
    for (const bad of ['', '.', '..', '../x', 'a/b', '.hidden', 'a b', 'x'.repeat(200)]) {
      rejects(() => toContainerId(bad), /invalid container id/);
    }
    rejects(() => toExecId('e/1'), /invalid exec id/);
  });
});

describe('guest placement of the spec', () => {
  const where = { sharedDir: '/run/kata-containers/shared/containers', cgroupParent: '/kata-agent' };

  it("resolves a relative root under the share and puts runc's cgroup in the container's, under the agent parent", () => {
    const spec = guestSpec(toContainerId('c1'), ociSpec('rootfs', ['sh'], { linux: { cgroupsPath: 'system.slice:cri:c1' } }), where);
    expect(spec.root?.path).toBe('/run/kata-containers/shared/containers/c1/rootfs');
    // <parent>/<id> is the agent's, which keeps the OOM count after runc removed its leaf.
    expect(spec.linux?.cgroupsPath).toBe('/kata-agent/c1/runc');
    expect(spec.linux?.namespaces).toHaveLength(5);
  });

  it('keeps an absolute root path', () => {
    expect(guestSpec(toContainerId('c1'), ociSpec('/run/kata-containers/shared/containers/c1/rootfs', ['sh']), where).root?.path).toBe(
      '/run/kata-containers/shared/containers/c1/rootfs',
    );
  });

  it('checks the root exists and is a directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rootfs-check-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      await expect(checkRootfs(toContainerId('c1'), dir)).resolves.toBeUndefined();
      await expect(checkRootfs(toContainerId('c1'), join(dir, 'nope'))).rejects.toThrow(/root path .*nope does not exist/);
      await expect(checkRootfs(toContainerId('c1'), join(dir, 'file'))).rejects.toThrow(/is not a directory/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('merges an update into resources set before the start', () => {
    expect(mergeResources({ memory: { limit: 1, swap: 2 }, pids: { limit: 5 } }, { memory: { limit: 10 }, cpu: { shares: 3 } })).toEqual({
      memory: { limit: 10, swap: 2 },
      cpu: { shares: 3 },
      pids: { limit: 5 },
      blockIO: undefined,
    });
  });
});
