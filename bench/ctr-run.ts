// containerd figures, measured side by side in one run against a private containerd 1.6:
// `ctr run --rm IMAGE echo hi` with our shim and with io.containerd.runc.v2; the wall
// time of the shim's `start`; the shim daemon's RSS and PSS with one idle pod.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox } from '../test/support/images.js';
import { shimDaemonPids } from '../test/e2e/leftovers.js';
import { parseSmapsRollup } from '../test/support/smaps.js';
import { startTimes, timedShimContainerd } from './shim-timing.js';
import { median } from './stats.js';

export async function benchCtrRun(runs = 3): Promise<void> {
  const { dir, cd, timings } = await timedShimContainerd('bench-ctr-');
  try {
    const image = await importBusybox(cd);
    const kata: number[] = [];
    const runc: number[] = [];
    for (let i = 0; i < runs; i++) {
      for (const [runtime, into] of [['io.containerd.kata.v2', kata], ['io.containerd.runc.v2', runc]] as const) {
        const r = await cd.ctr(['run', '--rm', '--runtime', runtime, image, `bench-${i}-${runtime.split('.')[2]}`, 'echo', 'hi'], { timeoutMs: 120_000 });
        if (r.code !== 0 || r.stdout.trim() !== 'hi') throw new Error(`ctr run (${runtime}) failed: ${r.stderr}`);
        into.push(Math.round(r.durationMs));
      }
    }
    // One idle pod: the daemon's memory once the VM runs and nothing happens.
    await cd.ctrOk(['run', '-d', '--runtime', 'io.containerd.kata.v2', image, 'bench-idle', 'sleep', '1000'], { timeoutMs: 120_000 });
    await new Promise((r) => setTimeout(r, 2000));
    const [shimPid] = shimDaemonPids('bench-idle');
    if (shimPid === undefined) throw new Error('no shim daemon serves bench-idle');
    const mem = parseSmapsRollup(readFileSync(`/proc/${shimPid}/smaps_rollup`, 'utf8'));
    await cd.ctr(['task', 'kill', '-s', 'KILL', 'bench-idle'], { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1000));
    await cd.ctr(['task', 'delete', 'bench-idle'], { timeoutMs: 60_000 });
    await cd.ctr(['container', 'delete', 'bench-idle'], { timeoutMs: 30_000 });
    const starts = startTimes(timings);
    console.log(
      [
        `ctr run --rm IMAGE echo hi (${runs} runs each, median [all]):`,
        `  io.containerd.kata.v2 (this shim, VM under TCG)   ${median(kata)} ms  [${kata.join(', ')}]`,
        `  io.containerd.runc.v2 (reference)                ${median(runc)} ms  [${runc.join(', ')}]`,
        `  shim \`start\` wall time                           ${median(starts)} ms  [${starts.join(', ')}]`,
        `  shim daemon with one idle pod: RSS ${(mem.rssKiB / 1024).toFixed(1)} MiB, PSS ${(mem.pssKiB / 1024).toFixed(1)} MiB`,
      ].join('\n'),
    );
  } finally {
    await cd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('ctr-run.ts')) await benchCtrRun(Number(process.argv[2] ?? 3));
