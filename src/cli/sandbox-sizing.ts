// `kata-runtime sandbox-sizing <sandbox-id>`: asks the sandbox's shim why its VM has
// the size it has, over the management socket, and explains it in a few lines.
import type { SizingReport } from '../sandbox/sandbox.js';
import { getFromShim, monitorSocketOf } from '../shim/monitor-client.js';
import { Code, RuntimeError } from '../errors/index.js';

async function fetchSizing(socketPath: string): Promise<SizingReport> {
  const body = await getFromShim(socketPath, '/sizing');
  try {
    return JSON.parse(body) as SizingReport;
  } catch (err) {
    throw new RuntimeError(Code.INTERNAL, `${socketPath}: not JSON: ${(err as Error).message}`);
  }
}

const n = (x: number): string => String(Math.round(x * 1000) / 1000);

/** The report as sentences a user can read. Pure. */
export function explainSizing(r: SizingReport): string {
  const lines: string[] = [];
  const cur = r.current;
  lines.push(`sandbox ${r.sandboxId}: ${cur ? `${cur.vcpus} vCPUs, ${cur.memoryMiB} MiB` : 'no VM running'} (${r.mode})`);
  if (r.static) {
    const s = r.static;
    lines.push(`  boot size ${s.vcpus} vCPUs, ${s.memoryMiB} MiB from ${s.source}: ${JSON.stringify(s.inputs)}; never hotplugged`);
  }
  const t = r.target;
  if (t) {
    lines.push(`  vCPUs = ceil(default_vcpus ${n(t.cpu.defaultVcpus)} + containers ${n(t.cpu.containersTotal)}) = ${t.cpu.requested}` + (t.cpu.cap ? `, capped to ${t.vcpus} by ${t.cpu.cap}` : ''));
    for (const c of t.cpu.containers) {
      lines.push(`    ${c.id}: ${c.cpus ? `${n(c.cpus)} CPU (quota ${c.quota} / period ${c.period})` : 'no CPU limit (adds nothing)'}`);
    }
    const m = t.memory;
    lines.push(
      `  memory = default_memory ${m.defaultMiB} MiB + containers ${n(m.containersTotalMiB)} MiB rounded up to ${m.blockMiB} MiB blocks (${m.roundedMiB}) = ${m.requestedMiB} MiB` +
        (m.cap ? `, capped to ${t.memoryMiB} MiB by ${m.cap}` : ''),
    );
    for (const c of m.containers) lines.push(`    ${c.id}: ${c.limitMiB ? `${n(c.limitMiB)} MiB limit` : 'no memory limit (adds nothing)'}`);
  }
  const lr = r.lastResize;
  if (lr) {
    for (const [what, res] of [['vCPUs', lr.vcpus], ['memory MiB', lr.memoryMiB]] as const) {
      if (res.limitedBy) lines.push(`  hotplug stopped at ${res.current} ${what}: ${res.limitedBy}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function sandboxSizing(id: string, json: boolean, out: (s: string) => void, stateRoot?: string): Promise<void> {
  const report = await fetchSizing(monitorSocketOf(id, stateRoot));
  out(json ? `${JSON.stringify(report, null, 2)}\n` : explainSizing(report));
}
