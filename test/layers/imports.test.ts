// Layering rules read off the sources: the sandbox domain speaks values, not protocols, and
// metric collection stays below the executables that serve it.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SRC = join(import.meta.dirname, '../../src');

/** Every relative import of every .ts file in src/<dir>, as "file: specifier". */
function imports(dir: string): string[] {
  return readdirSync(join(SRC, dir))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      [...readFileSync(join(SRC, dir, f), 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((m) => `${f}: ${m[1]}`),
    );
}

describe('imports point down', () => {
  it('src/sandbox holds no protobuf type and no ttrpc', () => {
    expect(imports('sandbox')).toContain("sandbox.ts: ./pod-vm.js"); // the scan sees imports at all
    expect(imports('sandbox').filter((i) => /\/(gen|ttrpc)\//.test(i))).toEqual([]);
  });

  it('src/metrics and src/procfs know nothing of the shim, the sandbox, the wire or the executables', () => {
    expect([...imports('metrics'), ...imports('procfs')].filter((i) => /\/(shim|sandbox|gen|ttrpc|monitor|cli|guest)\//.test(i))).toEqual([]);
  });

  it('src/procfs is pure: no I/O module', () => {
    expect(imports('procfs').filter((i) => /node:/.test(i))).toEqual([]);
  });
});
