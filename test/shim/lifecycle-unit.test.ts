// Pure parts of the shim's process lifecycle: pod grouping from annotations, the
// `delete` answer, the daemon's argv, mountinfo parsing.
import { describe, expect, it } from 'vitest';
import { containerd } from '../../src/gen/proto.js';
import { containerKind } from '../../src/shim/container-type.js';
import { daemonArgs } from '../../src/shim/daemon-launch.js';
import { DEAD_SHIM_EXIT_STATUS, encodeDeleteResponse } from '../../src/shim/delete.js';
import { parseShimFlags } from '../../src/shim/flags.js';
import { goTimestamp } from '../../src/shim/timestamps.js';
import { mountPoints } from '../../src/sandbox/mount-table.js';

describe('containerKind (Kata getAddress rules)', () => {
  it('is a single container without any type annotation', () => {
    expect(containerKind(undefined)).toEqual({ kind: 'single' });
    expect(containerKind({ 'io.kubernetes.cri.sandbox-id': 'sb' })).toEqual({ kind: 'single' });
  });

  it('knows the sandbox value of each runtime', () => {
    expect(containerKind({ 'io.kubernetes.cri.container-type': 'sandbox' })).toEqual({ kind: 'sandbox' });
    expect(containerKind({ 'io.kubernetes.cri-o.ContainerType': 'sandbox' })).toEqual({ kind: 'sandbox' });
    expect(containerKind({ 'io.kubernetes.docker.type': 'podsandbox' })).toEqual({ kind: 'sandbox' });
  });

  it('takes the sandbox id of a pod container from the first id key present', () => {
    expect(containerKind({ 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'a', 'io.kubernetes.sandbox.id': 'c' })).toEqual({
      kind: 'pod-container',
      sandboxId: 'a',
    });
    expect(containerKind({ 'io.kubernetes.cri-o.ContainerType': 'container', 'io.kubernetes.cri-o.SandboxID': 'b', 'io.kubernetes.sandbox.id': 'c' })).toEqual({
      kind: 'pod-container',
      sandboxId: 'b',
    });
    expect(containerKind({ 'io.kubernetes.docker.type': 'container', 'io.kubernetes.sandbox.id': 'c' })).toEqual({ kind: 'pod-container', sandboxId: 'c' });
  });

  it('lets the first type key present decide, even against later keys', () => {
    const a = { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri-o.ContainerType': 'container', 'io.kubernetes.cri-o.SandboxID': 'x' };
    expect(containerKind(a)).toEqual({ kind: 'sandbox' });
  });

  it('rejects unknown type values and pod containers without a sandbox id', () => {
    expect(() => containerKind({ 'io.kubernetes.cri.container-type': 'podsandbox' })).toThrow(
      'unknown container type "podsandbox" in annotation io.kubernetes.cri.container-type',
    );
    expect(() => containerKind({ 'io.kubernetes.docker.type': 'sandbox' })).toThrow('unknown container type "sandbox"');
    expect(() => containerKind({ 'io.kubernetes.cri.container-type': 'container' })).toThrow('without a sandbox id');
    expect(() => containerKind({ 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': '' })).toThrow('without a sandbox id');
  });
});

describe('delete answer', () => {
  it('is a raw DeleteResponse {pid 0, exit_status 137, exited_at now}', () => {
    const now = new Date('2026-01-02T03:04:05.678Z');
    const bytes = encodeDeleteResponse(now);
    const decoded = containerd.task.v2.DeleteResponse.decode(bytes);
    expect(decoded.pid).toBe(0);
    expect(decoded.exitStatus).toBe(DEAD_SHIM_EXIT_STATUS);
    expect(DEAD_SHIM_EXIT_STATUS).toBe(137);
    expect(Number(decoded.exitedAt?.seconds)).toBe(Math.floor(now.getTime() / 1000));
    expect(decoded.exitedAt?.nanos).toBe(678_000_000);
    // pid 0 is the default: only field 2 (varint 137) and field 3 (the timestamp) are on the wire.
    expect(bytes[0]).toBe(0x10);
  });

  it('is byte for byte what the generated encoder writes (encoded by hand: delete loads no protobuf code)', () => {
    const dates = [new Date('2026-01-02T03:04:05.678Z'), new Date('2026-01-02T03:04:05Z'), new Date(0), new Date('1969-12-31T23:59:59.5Z'), new Date(8.64e15)];
    for (const date of dates) {
      const generated = containerd.task.v2.DeleteResponse.encode({ pid: 0, exitStatus: DEAD_SHIM_EXIT_STATUS, exitedAt: goTimestamp(date) }).finish();
      expect(Buffer.from(encodeDeleteResponse(date)).toString('hex'), date.toISOString()).toBe(Buffer.from(generated).toString('hex'));
    }
  });
});

describe('daemon argv', () => {
  it('repeats start’s flags without the action, keeping -address as its own argument', () => {
    const flags = parseShimFlags(['-namespace', 'ns', '-address', '/c.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'x', '-debug', 'start']);
    const args = daemonArgs(flags);
    expect(args).toEqual(['-namespace', 'ns', '-address', '/c.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'x', '-debug']);
    expect(parseShimFlags(args)).toMatchObject({ action: 'serve', namespace: 'ns', id: 'x', debug: true });
  });
});

describe('mountinfo', () => {
  it('reads field 5 and decodes octal escapes', () => {
    const text = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '99 22 0:50 / /run/b\\040x/rootfs rw - overlay overlay rw,lowerdir=/l',
      '',
    ].join('\n');
    expect(mountPoints(text)).toEqual(['/', '/run/b x/rootfs']);
  });
});
