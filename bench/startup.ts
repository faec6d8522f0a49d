// Start latency figures, measured side by side in one run against a private containerd 1.6,
// rounds interleaved so load drifts hit every figure alike: `ctr run --rm IMAGE true` with
// this shim next to the bare VM boot to /init and the guest boot to the agent (both as
// bench/vm-boot.ts measures them), the shim's `start` wall time (as bench/ctr-run.ts
// measures it), and 5 pods started at once next to one.
// Run: npx tsx bench/startup.ts [rounds]   (3 by default)
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Containerd } from '../test/support/containerd.js';
import { importBusybox } from '../test/support/images.js';
import { RUNTIME } from '../test/e2e/kata-env.js';
import { startTimes, timedShimContainerd } from './shim-timing.js';
import { benchVmBoot } from './vm-boot.js';
import { median } from './stats.js';

const AT_ONCE = 5;

/** The targets of the density and start latency issue. */
const TARGETS = { ctrRunOverBoot: 1.6, agentReadyMs: 3500, shimStartMs: 80, atOnceOverOne: 3 };

interface StartupFigures {
  bareInitMs: number[];
  agentReadyMs: number[];
  ctrRunRmMs: number[];
  /** `start` of the sequential runs (--rm and the single pod): nothing else starts meanwhile. */
  shimStartMs: number[];
  /** `start` of the pods started at once. */
  shimStartAtOnceMs: number[];
  oneMs: number[];
  atOnceMs: number[];
  /** From vm-boot.ts's agent boot: MemTotal − MemAvailable in the guest, and MemTotal (MiB). */
  guestMemMiB: { used: number[]; total: number };
}

/** bench/vm-boot.ts prints its own block per call; one round of it runs quietly inside ours. */
async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => undefined;
  try {
    return await f();
  } finally {
    console.log = log;
  }
}

async function ctrRunRm(cd: Containerd, image: string, id: string): Promise<number> {
  const r = await cd.ctr(['run', '--rm', '--runtime', RUNTIME, image, id, 'true'], { timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`ctr run --rm ${id}: exit ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  return Math.round(r.durationMs);
}

async function runDetached(cd: Containerd, image: string, id: string): Promise<void> {
  await cd.ctrOk(['run', '-d', '--runtime', RUNTIME, image, id, 'sleep', '1000000'], { timeoutMs: 300_000 });
}

async function removePod(cd: Containerd, id: string): Promise<void> {
  // --force kills the task first; deleting through containerd stops the pod's VM properly.
  await cd.ctr(['tasks', 'delete', '--force', id], { timeoutMs: 120_000 });
  await cd.ctr(['containers', 'delete', id], { timeoutMs: 30_000 });
}

/** Wall time until every `ctr run -d` of `ids`, started together, returned; the pods are removed after. */
async function startTogether(cd: Containerd, image: string, ids: string[]): Promise<number> {
  const t0 = performance.now();
  const results = await Promise.allSettled(ids.map((id) => runDetached(cd, image, id)));
  const ms = Math.round(performance.now() - t0);
  await Promise.all(ids.map((id) => removePod(cd, id)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return ms;
}

export async function benchStartup(rounds = 3): Promise<StartupFigures> {
  const { dir, cd, timings } = await timedShimContainerd('bench-startup-');
  const fig: StartupFigures = { bareInitMs: [], agentReadyMs: [], ctrRunRmMs: [], shimStartMs: [], shimStartAtOnceMs: [], oneMs: [], atOnceMs: [], guestMemMiB: { used: [], total: NaN } };
  try {
    const image = await importBusybox(cd);
    const tag = `${process.pid}`;
    for (let i = 0; i < rounds; i++) {
      const boot = await quietly(() => benchVmBoot(1));
      fig.bareInitMs.push(...boot.bareInitMs);
      fig.agentReadyMs.push(...boot.agentReadyMs);
      fig.guestMemMiB.used.push(boot.guestMemUsedMiB);
      fig.guestMemMiB.total = boot.guestMemTotalMiB;
      const before = startTimes(timings).length;
      fig.ctrRunRmMs.push(await ctrRunRm(cd, image, `st-rm-${tag}-${i}`));
      fig.oneMs.push(await startTogether(cd, image, [`st-one-${tag}-${i}`]));
      const sequential = startTimes(timings).length;
      fig.atOnceMs.push(await startTogether(cd, image, Array.from({ length: AT_ONCE }, (_, j) => `st-many-${tag}-${i}-${j}`)));
      const all = startTimes(timings);
      fig.shimStartMs.push(...all.slice(before, sequential));
      fig.shimStartAtOnceMs.push(...all.slice(sequential));
    }
  } finally {
    await cd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  printStartup(fig, rounds);
  return fig;
}

function row(label: string, value: string, target: string, met: boolean | undefined, all: number[] | string): string {
  const verdict = met === undefined ? '' : met ? 'met' : 'NOT met';
  return `${label.padEnd(54)} ${value.padStart(9)}   ${target.padEnd(8)} ${verdict.padEnd(8)} ${typeof all === 'string' ? all : `[${all.join(', ')}]`}`;
}

function printStartup(f: StartupFigures, rounds: number): void {
  const ratio = median(f.ctrRunRmMs) / median(f.bareInitMs);
  const atOnce = median(f.atOnceMs) / median(f.oneMs);
  const ms = (xs: number[]): string => `${median(xs)} ms`;
  console.log(
    [
      `Start latency (QEMU under TCG, default_memory = 512 MiB, ${rounds} rounds interleaved; median [all]):`,
      `${''.padEnd(54)} ${'measured'.padStart(9)}   ${'target'.padEnd(8)}`,
      row('ctr run --rm --runtime kata IMAGE id true', ms(f.ctrRunRmMs), '', undefined, f.ctrRunRmMs),
      row('QEMU start → bare /init marker (vm-boot.ts)', ms(f.bareInitMs), '', undefined, f.bareInitMs),
      row('  ctr run --rm ÷ bare boot', `${ratio.toFixed(2)}×`, `≤ ${TARGETS.ctrRunOverBoot}×`, ratio <= TARGETS.ctrRunOverBoot, 'ratio of the medians'),
      row('QEMU start → agent answers Health (vm-boot.ts)', ms(f.agentReadyMs), `≤ ${TARGETS.agentReadyMs / 1000} s`, median(f.agentReadyMs) <= TARGETS.agentReadyMs, f.agentReadyMs),
      row('  guest memory in use then (MemTotal − MemAvailable)', `${median(f.guestMemMiB.used)} MiB`, '', undefined, `of ${f.guestMemMiB.total} MiB [${f.guestMemMiB.used.join(', ')}]`),
      row('shim `start` wall time (one pod starting)', ms(f.shimStartMs), `≤ ${TARGETS.shimStartMs} ms`, median(f.shimStartMs) <= TARGETS.shimStartMs, f.shimStartMs),
      row(`  the same, ${AT_ONCE} pods starting at once`, ms(f.shimStartAtOnceMs), '', undefined, f.shimStartAtOnceMs),
      row('ctr run -d of one pod', ms(f.oneMs), '', undefined, f.oneMs),
      row(`ctr run -d of ${AT_ONCE} pods at once, until all returned`, ms(f.atOnceMs), '', undefined, f.atOnceMs),
      row(`  ${AT_ONCE} at once ÷ 1`, `${atOnce.toFixed(2)}×`, `≤ ${TARGETS.atOnceOverOne}×`, atOnce <= TARGETS.atOnceOverOne, 'ratio of the medians'),
    ].join('\n'),
  );
}

if (process.argv[1]?.endsWith('startup.ts')) await benchStartup(Number(process.argv[2] ?? 3));
