// Memory footprint per pod, measured the way Kata's density reports do (PSS from
// /proc/PID/smaps_rollup, split by mapping from /proc/PID/smaps), side by side in one run:
// N idle busybox pods through a private containerd with this shim (its daemon, QEMU and
// virtiofsd per pod; QEMU split into the guest RAM the guest touched, TCG's translation
// cache and the rest), the same N pods with io.containerd.runc.v2, and an idle node.
// Run: npx tsx bench/footprint.ts [N] [--qemu 'key = value']...   (N = 5 by default; --qemu adds
//      lines to [hypervisor.qemu], e.g. --qemu 'disable_image_nvdimm = true' for the fallback)
//      npx tsx bench/footprint.ts --self-check   (the smaps parsers, test/support/smaps.ts, against a captured sample)
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startKataEnv, RUNTIME, type KataEnv } from '../test/e2e/kata-env.js';
import { shimDaemonPids } from '../test/e2e/leftovers.js';
import { parsePidStat } from '../src/procfs/process.js';
import { isGuestRam, parseSmaps, parseSmapsRollup, pssByPath, selfCheck, splitQemu, sumMappings, type MemKiB, type QemuSplit } from '../test/support/smaps.js';

const RUNC = 'io.containerd.runc.v2';
/** Idle means idle: the VMs finished booting and the agents wait for calls. A fixed time is fine for a benchmark. */
const SETTLE_MS = 30_000;
const MEMORY_MIB = 512; // testVmConfig's default_memory, which startKataEnv uses

// ---------------------------------------------------------------------------------------
// Processes: a pod is its shim daemon and everything the daemon started.

interface Proc {
  ppid: number;
  comm: string;
}

/** pid → parent and command name of every live process. */
function processTable(): Map<number, Proc> {
  const table = new Map<number, Proc>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parsed = parsePidStat(stat);
      if (parsed) table.set(Number(entry), { ppid: parsed.ppid, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      continue; // exited meanwhile
    }
  }
  return table;
}

function descendants(table: Map<number, Proc>, root: number): number[] {
  const out: number[] = [];
  const visit = (pid: number): void => {
    for (const [child, p] of table) {
      if (p.ppid !== pid) continue;
      out.push(child);
      visit(child);
    }
  };
  visit(root);
  return out;
}

function rollup(pid: number): MemKiB {
  return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
}

function add(a: MemKiB, b: MemKiB): MemKiB {
  return { rssKiB: a.rssKiB + b.rssKiB, pssKiB: a.pssKiB + b.pssKiB };
}

const ZERO: MemKiB = { rssKiB: 0, pssKiB: 0 };

interface KataPodMemory {
  shim: MemKiB;
  qemu: MemKiB & QemuSplit;
  /** Both virtiofsd processes: Debian's C virtiofsd forks its server and the parent waits. */
  virtiofsd: MemKiB & { count: number; guestRam: MemKiB };
  /** Whatever else the daemon started (nothing, today); counted in the total so nothing hides. */
  other: MemKiB & { comms: string[] };
  total: MemKiB;
  /** QEMU's Pss by pathname, to see what dominates "rest". */
  qemuByPath: Array<[string, number]>;
}

/** The single pid of `what`, or a clear error: a benchmark must not silently read the wrong process. */
function one(pids: number[], what: string): number {
  if (pids.length !== 1) throw new Error(`expected one ${what}, found ${pids.length} (${pids.join(', ')})`);
  return pids[0]!;
}

function readKataPod(id: string, table: Map<number, Proc>): KataPodMemory {
  const shimPid = one(shimDaemonPids(id), `shim daemon for ${id}`);
  const children = descendants(table, shimPid);
  // comm is cut to 15 characters: "qemu-system-x86".
  const qemuPid = one(children.filter((p) => table.get(p)!.comm.startsWith('qemu-system')), `QEMU under shim ${shimPid}`);
  const fsPids = children.filter((p) => table.get(p)!.comm === 'virtiofsd');
  const otherPids = children.filter((p) => p !== qemuPid && !fsPids.includes(p));
  const qemuTotal = rollup(qemuPid);
  const qemuMaps = parseSmaps(readFileSync(`/proc/${qemuPid}/smaps`, 'utf8'));
  const fsGuestRam = fsPids.map((p) => sumMappings(parseSmaps(readFileSync(`/proc/${p}/smaps`, 'utf8')).filter(isGuestRam))).reduce(add, ZERO);
  const shim = rollup(shimPid);
  const virtiofsd = fsPids.map(rollup).reduce(add, ZERO);
  const other = otherPids.map(rollup).reduce(add, ZERO);
  return {
    shim,
    qemu: { ...qemuTotal, ...splitQemu(qemuTotal, qemuMaps) },
    virtiofsd: { ...virtiofsd, count: fsPids.length, guestRam: fsGuestRam },
    other: { ...other, comms: otherPids.map((p) => table.get(p)!.comm) },
    total: [shim, qemuTotal, virtiofsd, other].reduce(add, ZERO),
    qemuByPath: pssByPath(qemuMaps),
  };
}

interface RuncPodMemory {
  shim: MemKiB;
  container: MemKiB;
  total: MemKiB;
}

function readRuncPod(id: string, table: Map<number, Proc>): RuncPodMemory {
  const lines = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n');
  const shimPid = one(
    lines.filter((l) => l.includes('containerd-shim-runc-v2') && l.includes(` -id ${id} `)).map((l) => Number(l.trim().split(/\s+/)[0])),
    `runc shim for ${id}`,
  );
  const shim = rollup(shimPid);
  const container = descendants(table, shimPid).map(rollup).reduce(add, ZERO);
  return { shim, container, total: add(shim, container) };
}

// ---------------------------------------------------------------------------------------
// The run.

async function runPod(env: KataEnv, runtime: string, id: string): Promise<number> {
  const r = await env.cd.ctr(['run', '-d', '--runtime', runtime, env.image, id, 'sleep', '1000000'], { timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`ctr run -d (${runtime}) ${id}: ${r.stderr.trim()}`);
  return Math.round(r.durationMs);
}

async function removePod(env: KataEnv, id: string): Promise<void> {
  // --force kills the task first; deleting through containerd stops a kata pod's VM properly.
  await env.cd.ctr(['tasks', 'delete', '--force', id], { timeoutMs: 120_000 });
  await env.cd.ctr(['containers', 'delete', id], { timeoutMs: 30_000 });
}

/** An idle node, the floor any Node.js shim starts from; spawned like the shim's `env node`. */
function idleNode(): ChildProcess {
  return spawn('node', ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
}

export interface FootprintFigures {
  kata: KataPodMemory[];
  runc: RuncPodMemory[];
  idleNode: MemKiB;
  startMs: { kata: number[]; runc: number[] };
}

export async function benchFootprint(n = 5, settleMs = SETTLE_MS, qemuExtra = ''): Promise<FootprintFigures> {
  selfCheck();
  const tag = `${process.pid}`;
  const kataIds = Array.from({ length: n }, (_, i) => `fp-kata-${tag}-${i}`);
  const runcIds = Array.from({ length: n }, (_, i) => `fp-runc-${tag}-${i}`);
  const env = await startKataEnv({ qemuExtra });
  if (qemuExtra) console.log(`[hypervisor.qemu] additions: ${qemuExtra.replace(/\n/g, '; ')}`);
  const started: string[] = [];
  let node: ChildProcess | undefined;
  try {
    const startMs = { kata: [] as number[], runc: [] as number[] };
    // One after another: each VM boots on an otherwise idle machine.
    for (const id of kataIds) {
      startMs.kata.push(await runPod(env, RUNTIME, id));
      started.push(id);
    }
    for (const id of runcIds) {
      startMs.runc.push(await runPod(env, RUNC, id));
      started.push(id);
    }
    // Alive alongside the shims, so it shares node's pages with them as a shim does with the others.
    node = idleNode();
    await sleep(settleMs);
    const table = processTable();
    const fig: FootprintFigures = {
      kata: kataIds.map((id) => readKataPod(id, table)),
      runc: runcIds.map((id) => readRuncPod(id, table)),
      idleNode: rollup(node.pid!),
      startMs,
    };
    printFootprint(fig, settleMs);
    return fig;
  } finally {
    if (node?.pid !== undefined && node.exitCode === null) process.kill(node.pid, 'SIGKILL');
    for (const id of started) await removePod(env, id);
    await env.stop(kataIds);
  }
}

// ---------------------------------------------------------------------------------------
// The table.

/** MB = 10^6 bytes, as Kata's density reports use. */
const mb = (kib: number): string => ((kib * 1024) / 1e6).toFixed(1);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function row(label: string, pss: number[], rss: number[] | undefined, target?: { maxMB: number }): string {
  const p = mean(pss);
  const verdict = target ? `≤ ${target.maxMB} MB  ${(p * 1024) / 1e6 <= target.maxMB ? 'met' : 'NOT met'}` : '';
  const each = pss.length > 1 ? `[${pss.map(mb).join(', ')}]` : '';
  return `${label.padEnd(52)} ${mb(p).padStart(8)} ${(rss ? mb(mean(rss)) : '').padStart(8)}   ${verdict.padEnd(18)} ${each}`;
}

function printFootprint(f: FootprintFigures, settleMs: number): void {
  const k = f.kata;
  const pss = (pick: (p: KataPodMemory) => MemKiB): number[] => k.map((p) => pick(p).pssKiB);
  const rss = (pick: (p: KataPodMemory) => MemKiB): number[] => k.map((p) => pick(p).rssKiB);
  const noTcg = k.map((p) => p.total.pssKiB - p.qemu.tcg.pssKiB);
  const rp = (pick: (p: RuncPodMemory) => MemKiB): number[] => f.runc.map((p) => pick(p).pssKiB);
  const rr = (pick: (p: RuncPodMemory) => MemKiB): number[] => f.runc.map((p) => pick(p).rssKiB);
  const others = [...new Set(k.flatMap((p) => p.other.comms))];
  const lines = [
    `Footprint of ${k.length} idle busybox pods (\`sleep\`, ctr run -d, one after another) next to ${f.runc.length} runc pods, private containerd 1.6;`,
    `QEMU under TCG, default_memory = ${MEMORY_MIB} MiB. Read ${settleMs / 1000} s after the last pod was up.`,
    `PSS and RSS from /proc/PID/smaps_rollup, QEMU split by mapping from /proc/PID/smaps. MB = 10^6 bytes.`,
    `Per pod: mean [each pod]. RSS counts shared pages in full, so RSS − PSS is what a process shares.`,
    `${''.padEnd(52)} ${'PSS MB'.padStart(8)} ${'RSS MB'.padStart(8)}   ${'target'.padEnd(18)} PSS per pod`,
    row('kata pod: shim + QEMU + virtiofsd', pss((p) => p.total), rss((p) => p.total)),
    row('  without TCG\'s translation cache', noTcg, undefined, { maxMB: 120 }),
    row('  shim daemon (node)', pss((p) => p.shim), rss((p) => p.shim), { maxMB: 15 }),
    row('  QEMU', pss((p) => p.qemu), rss((p) => p.qemu)),
    row('    guest RAM the guest touched (memfd)', pss((p) => p.qemu.guestRam), rss((p) => p.qemu.guestRam)),
    row('    TCG translation cache (anonymous rwx)', pss((p) => p.qemu.tcg), rss((p) => p.qemu.tcg), { maxMB: 40 }),
    row('    rest', pss((p) => p.qemu.rest), rss((p) => p.qemu.rest)),
    row(`  virtiofsd (${k[0]!.virtiofsd.count} processes)`, pss((p) => p.virtiofsd), rss((p) => p.virtiofsd)),
    row('    of which its mapping of guest RAM', pss((p) => p.virtiofsd.guestRam), rss((p) => p.virtiofsd.guestRam)),
    ...(others.length ? [row(`  other children (${others.join(', ')})`, pss((p) => p.other), rss((p) => p.other))] : []),
    `reference, same run:`,
    row(`  idle node -e 'setInterval(()=>{},1e9)'`, [f.idleNode.pssKiB], [f.idleNode.rssKiB]),
    row('  runc pod: containerd-shim-runc-v2 + sleep', rp((p) => p.total), rr((p) => p.total)),
    row('    containerd-shim-runc-v2', rp((p) => p.shim), rr((p) => p.shim)),
    row('    sleep', rp((p) => p.container), rr((p) => p.container)),
    `kata ÷ runc PSS per pod: ${(mean(pss((p) => p.total)) / mean(rp((p) => p.total))).toFixed(0)}× (without TCG's cache ${(mean(noTcg) / mean(rp((p) => p.total))).toFixed(0)}×)`,
    `QEMU's largest mappings by PSS (mean per pod, MB): ${largestQemuMappings(k)}`,
    `ctr run -d wall time, ms: kata [${f.startMs.kata.join(', ')}], runc [${f.startMs.runc.join(', ')}]`,
  ];
  console.log(lines.join('\n'));
}

function largestQemuMappings(pods: readonly KataPodMemory[], top = 6): string {
  const by = new Map<string, number>();
  for (const p of pods) for (const [path, kib] of p.qemuByPath) by.set(path, (by.get(path) ?? 0) + kib / pods.length);
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([path, kib]) => `${path} ${mb(kib)}`)
    .join('; ');
}

const self = process.argv[1]?.endsWith('footprint.ts') ?? false;
if (self && process.argv[2] === '--self-check') {
  selfCheck();
  console.log('footprint self-check: the smaps parsers read the captured sample as expected');
} else if (self) {
  // npx tsx bench/footprint.ts [N] [--qemu 'key = value'...]: a configuration variant, for comparing steps.
  const args = process.argv.slice(2);
  const qemu = args.flatMap((a, i) => (args[i - 1] === '--qemu' ? [a] : []));
  const n = args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--qemu');
  await benchFootprint(Number(n ?? 5), SETTLE_MS, qemu.join('\n'));
}
