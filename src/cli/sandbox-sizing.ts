// `kata-runtime sandbox-sizing <sandbox-id>`: asks the sandbox's shim why its VM has
// the size it has, over the management socket, and explains it in a few lines.
import { request } from 'node:http';
import type { SizingReport } from '../sandbox/sandbox.js';
import { monitorSocketPath } from '../shim/monitor-server.js';
import { Code, RuntimeError } from '../errors/index.js';

export function fetchSizing(socketPath: string, timeoutMs = 5000): Promise<SizingReport> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/sizing', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new RuntimeError(Code.INTERNAL, `${socketPath}: HTTP ${res.statusCode}: ${body.trim()}`));
        try {
          resolve(JSON.parse(body) as SizingReport);
        } catch (err) {
          reject(new RuntimeError(Code.INTERNAL, `${socketPath}: not JSON: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'no running sandbox has this id (no shim-monitor socket)' : err.message;
      reject(new RuntimeError(Code.UNAVAILABLE, `${socketPath}: ${why}`));
    });
    req.end();
  });
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
  const report = await fetchSizing(monitorSocketPath(id, stateRoot));
  out(json ? `${JSON.stringify(report, null, 2)}\n` : explainSizing(report));
}
