// /proc/PID/smaps and smaps_rollup, parsed for the footprint bench (bench/footprint.ts)
// and the tests that look at QEMU's mappings: PSS and RSS per mapping, which mappings are
// guest RAM and which TCG's code buffer. Pure; selfCheck() reads a captured sample.
import { parseKeyValues } from '../../src/procfs/process.js';

export interface Mapping {
  /** "start-end" as printed. */
  range: string;
  /** "rwxp", "rw-s", ... */
  perms: string;
  /** The pathname column: a file, "[heap]", "/memfd:... (deleted)", or "" for anonymous memory. */
  path: string;
  rssKiB: number;
  pssKiB: number;
}

export interface MemKiB {
  rssKiB: number;
  pssKiB: number;
}

const HEADER = /^([0-9a-f]+-[0-9a-f]+)\s+(\S{4})\s+[0-9a-f]+\s+\S+\s+\d+ ?\s*(.*)$/;
const FIELD = /^(\w+):\s+(\d+) kB$/;

/** Every mapping of a /proc/PID/smaps text with its Rss and Pss (kB as the kernel prints them, KiB). */
export function parseSmaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      out.push({ range: h[1]!, perms: h[2]!, path: h[3]!.trim(), rssKiB: 0, pssKiB: 0 });
      continue;
    }
    const f = FIELD.exec(line);
    const m = out[out.length - 1];
    if (!f || !m) continue;
    if (f[1] === 'Rss') m.rssKiB = Number(f[2]);
    else if (f[1] === 'Pss') m.pssKiB = Number(f[2]);
  }
  return out;
}

/** Rss and Pss of a /proc/PID/smaps_rollup text (the kernel sums Pss with sub-kB precision there). */
export function parseSmapsRollup(text: string): MemKiB {
  const fields = parseKeyValues(text);
  const kib = (k: string): number => {
    const v = fields.get(k)?.value;
    if (v === undefined) throw new Error(`smaps_rollup without ${k}`);
    return v;
  };
  return { rssKiB: kib('Rss'), pssKiB: kib('Pss') };
}

/**
 * Guest RAM: QEMU's memory backends. With virtio-fs boot RAM is a memory-backend-memfd and
 * hot-added DIMMs are too. QEMU 7.2 names every such memfd after the QOM type
 * ("/memfd:memory-backend-memfd (deleted)"); other versions name it after the object id
 * (ram0, memN), so both spellings count.
 */
export function isGuestRam(m: Mapping): boolean {
  return /^\/memfd:(memory-backend-memfd|ram\d+|mem\d+)( \(deleted\))?$/.test(m.path);
}

/**
 * TCG's code buffer: one anonymous rwx mapping, cut into per-region VMAs by PROT_NONE guard
 * pages, touched as translated blocks fill it. Nothing else in QEMU is writable and
 * executable (the JIT of a library would be, but QEMU links none).
 */
export function isTcgCodeBuffer(m: Mapping): boolean {
  return m.path === '' && m.perms.startsWith('rwx');
}

export interface QemuSplit {
  guestRam: MemKiB;
  tcg: MemKiB;
  /** The process total minus the two above. */
  rest: MemKiB;
}

/** Rss and Pss of some mappings together. */
export const sumMappings = (ms: readonly Mapping[]): MemKiB => ({
  rssKiB: ms.reduce((a, m) => a + m.rssKiB, 0),
  pssKiB: ms.reduce((a, m) => a + m.pssKiB, 0),
});

/** Splits QEMU's total (from smaps_rollup) by its mappings (from smaps). */
export function splitQemu(total: MemKiB, mappings: readonly Mapping[]): QemuSplit {
  const guestRam = sumMappings(mappings.filter(isGuestRam));
  const tcg = sumMappings(mappings.filter(isTcgCodeBuffer));
  return {
    guestRam,
    tcg,
    rest: { rssKiB: total.rssKiB - guestRam.rssKiB - tcg.rssKiB, pssKiB: total.pssKiB - guestRam.pssKiB - tcg.pssKiB },
  };
}

/** Pss by pathname ("[anon rw-p]" for anonymous memory), largest first: what dominates a process. */
export function pssByPath(mappings: readonly Mapping[]): Array<[string, number]> {
  const by = new Map<string, number>();
  for (const m of mappings) {
    const key = m.path === '' ? `[anon ${m.perms}]` : m.path;
    by.set(key, (by.get(key) ?? 0) + m.pssKiB);
  }
  return [...by].sort((a, b) => b[1] - a[1]);
}

/**
 * Captured from this project's QEMU 7.2 (TCG, 512 MiB, virtio-fs, one idle pod, 15 s after
 * `ctr run -d`), 8 of its 520 mappings with 7 of their fields: the binary's text, anonymous
 * memory, the private file mapping of vmlinux, guest RAM, and two TCG regions each after
 * its guard page. Anonymous headers end in a space, as the kernel prints them.
 */
export const SMAPS_SAMPLE = `55d6733e6000-55d67397d000 r-xp 00407000 fe:00 2170898                    /usr/bin/qemu-system-x86_64
Size:               5724 kB
Rss:                5184 kB
Pss:                2672 kB
Pss_Dirty:             0 kB
Private_Dirty:         0 kB
AnonHugePages:         0 kB
VmFlags: rd ex mr mw me 
7f00b8000000-7f00b93fa000 rw-p 00000000 00:00 0 
Size:              20456 kB
Rss:               17684 kB
Pss:               17684 kB
Pss_Dirty:         17684 kB
Private_Dirty:     17684 kB
AnonHugePages:         0 kB
VmFlags: rd wr mr mw me nr 
7f00c4c00000-7f00c7ec7000 rw-p 00000000 fe:00 5342838                    /work/main/build/guest/vmlinux
Size:              51996 kB
Rss:               45376 kB
Pss:               45376 kB
Pss_Dirty:             0 kB
Private_Dirty:         0 kB
AnonHugePages:         0 kB
VmFlags: rd wr mr mw me ac 
7f00c7fff000-7f00e7fff000 rw-s 00000000 00:01 509                        /memfd:memory-backend-memfd (deleted)
Size:             524288 kB
Rss:              211660 kB
Pss:              210530 kB
Pss_Dirty:        210498 kB
Private_Dirty:    209368 kB
AnonHugePages:         0 kB
VmFlags: rd wr sh mr mw me ms dc hg 
7f00e7fff000-7f00e8000000 ---p 00000000 00:00 0 
Size:                  4 kB
Rss:                   0 kB
Pss:                   0 kB
Pss_Dirty:             0 kB
Private_Dirty:         0 kB
AnonHugePages:         0 kB
VmFlags: mr mw me 
7f00e8000000-7f00e9fff000 rwxp 00000000 00:00 0 
Size:              32764 kB
Rss:               32764 kB
Pss:               32764 kB
Pss_Dirty:         32764 kB
Private_Dirty:     32764 kB
AnonHugePages:     30720 kB
VmFlags: rd wr ex mr mw me ac hg 
7f00e9fff000-7f00ea000000 ---p 00000000 00:00 0 
Size:                  4 kB
Rss:                   0 kB
Pss:                   0 kB
Pss_Dirty:             0 kB
Private_Dirty:         0 kB
AnonHugePages:         0 kB
VmFlags: mr mw me hg 
7f00ea000000-7f00ebfff000 rwxp 00000000 00:00 0 
Size:              32764 kB
Rss:               32764 kB
Pss:               32764 kB
Pss_Dirty:         32764 kB
Private_Dirty:     32764 kB
AnonHugePages:     30720 kB
VmFlags: rd wr ex mr mw me ac hg 
`;

/** The same process's smaps_rollup (first lines): the totals `rest` is taken from. */
export const SMAPS_ROLLUP_SAMPLE = `55d672fdf000-7ffe746ee000 ---p 00000000 00:00 0                          [rollup]
Rss:              469824 kB
Pss:              456376 kB
Pss_Dirty:        397410 kB
Pss_Anon:         186912 kB
`;

/** Throws unless the parsers read the captured sample as expected. */
export function selfCheck(): void {
  const ms = parseSmaps(SMAPS_SAMPLE);
  const split = splitQemu(parseSmapsRollup(SMAPS_ROLLUP_SAMPLE), ms);
  const expect = (what: string, got: unknown, want: unknown): void => {
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`footprint self-check: ${what} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  };
  expect('mapping count', ms.length, 8);
  expect('anonymous mappings', ms.filter((m) => m.path === '').length, 5);
  expect('guest RAM', split.guestRam, { rssKiB: 211660, pssKiB: 210530 });
  expect('TCG', split.tcg, { rssKiB: 65528, pssKiB: 65528 });
  expect('rest', split.rest, { rssKiB: 192636, pssKiB: 180318 });
  expect('largest by path', pssByPath(ms)[0], ['/memfd:memory-backend-memfd (deleted)', 210530]);
}
