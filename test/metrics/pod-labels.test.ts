import { describe, expect, it } from 'vitest';
import { criPodMetadata, parseSandboxMetadata, podLabels } from '../../src/metrics/pod-labels.js';

describe('pod labels', () => {
  it("from containerd CRI's sandbox annotations", () => {
    expect(criPodMetadata({ 'io.kubernetes.cri.sandbox-uid': 'u', 'io.kubernetes.cri.sandbox-name': 'n', 'io.kubernetes.cri.sandbox-namespace': 'ns' })).toEqual({ uid: 'u', name: 'n', namespace: 'ns' });
    expect(criPodMetadata({ 'io.kubernetes.cri.container-type': 'sandbox' })).toBeUndefined();
    expect(criPodMetadata(undefined)).toBeUndefined();
  });

  it("Kata's label names; no CRI labels for a pod that did not come from CRI", () => {
    expect(podLabels({ sandboxId: 's', cri: { uid: 'u', name: 'n', namespace: 'ns' } })).toEqual({ sandbox_id: 's', cri_uid: 'u', cri_name: 'n', cri_namespace: 'ns' });
    expect(podLabels({ sandboxId: 's' })).toEqual({ sandbox_id: 's' });
  });

  it('checks what a shim answered', () => {
    expect(parseSandboxMetadata('{"sandboxId":"s"}')).toEqual({ sandboxId: 's' });
    expect(() => parseSandboxMetadata('{}')).toThrow(/without a sandboxId/);
    expect(() => parseSandboxMetadata('{"sandboxId":"s","cri":{"uid":1}}')).toThrow(/string uid/);
    expect(() => parseSandboxMetadata('nope')).toThrow();
  });
});
