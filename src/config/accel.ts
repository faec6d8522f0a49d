// What `accel = "auto"` means: KVM only when it can run a stock guest, else TCG.
// An openable /dev/kvm is not enough: some hosts (e.g. kvm_pvm, a para-virtual KVM)
// offer /dev/kvm without hardware virtualisation, and a normal guest hangs there. Kata's
// own kata-check requires the vmx (Intel) or svm (AMD) CPU flag, and so do we.
import type { Accel } from './types.js';

export interface KvmStatus {
  /** /dev/kvm exists. */
  readonly devicePresent: boolean;
  /** /dev/kvm opens read-write for this process. */
  readonly openable: boolean;
  /** The CPU advertises vmx or svm (from /proc/cpuinfo). */
  readonly hardwareVirt: boolean;
}

export type ResolvedAccel = 'kvm' | 'tcg';

export function kvmUsable(kvm: KvmStatus): boolean {
  return kvm.devicePresent && kvm.openable && kvm.hardwareVirt;
}

/** An explicit choice is kept even when it cannot work, so the failure is visible. */
export function resolveAccel(accel: Accel, kvm: KvmStatus): ResolvedAccel {
  if (accel === 'auto') return kvmUsable(kvm) ? 'kvm' : 'tcg';
  return accel;
}

export function describeKvm(kvm: KvmStatus): string {
  if (!kvm.devicePresent) return '/dev/kvm is missing';
  if (!kvm.openable) return '/dev/kvm exists but cannot be opened read-write';
  if (!kvm.hardwareVirt) return '/dev/kvm opens but the CPU advertises no vmx/svm, so a stock guest cannot boot (para-virtual KVM)';
  return '/dev/kvm usable, hardware virtualisation present';
}
