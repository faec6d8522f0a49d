// The shim's `start` wall time, as bench/ctr-run.ts and bench/startup.ts measure it: a bash
// wrapper in front of the bundled shim records each `start` invocation; every other
// invocation is the shim itself.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startContainerd, type Containerd } from '../test/support/containerd.js';
import { testVmConfig } from '../test/vm/vm-config.js';

const DIST = join(import.meta.dirname, '../dist');

/** Writes `bin/containerd-shim-kata-v2`, appending each `start`'s milliseconds to `timings`. */
function timingShim(bin: string, timings: string): void {
  writeFileSync(
    join(bin, 'containerd-shim-kata-v2'),
    `#!/bin/bash
case " $* " in
  *" start "*) t0=$(date +%s%N); node ${DIST}/containerd-shim-kata-v2.cjs "$@"; rc=$?; echo $(( ($(date +%s%N) - t0) / 1000000 )) >> ${timings}; exit $rc ;;
  *) exec node ${DIST}/containerd-shim-kata-v2.cjs "$@" ;;
esac
`,
  );
  chmodSync(join(bin, 'containerd-shim-kata-v2'), 0o755);
}

/** The `start` wall times recorded so far. */
export function startTimes(timings: string): number[] {
  return existsSync(timings) ? readFileSync(timings, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];
}

/**
 * A private containerd 1.6 whose PATH has the timing wrapper and whose KATA_CONF_FILE is the
 * test VM configuration, in a new temp dir (the caller removes it after stopping `cd`).
 */
export async function timedShimContainerd(prefix: string): Promise<{ dir: string; cd: Containerd; timings: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const timings = join(dir, 'start-ms');
  timingShim(bin, timings);
  await testVmConfig(dir);
  const cd = await startContainerd({ extraPath: [bin], env: { KATA_CONF_FILE: join(dir, 'configuration.toml') }, debugLevel: 'info' });
  return { dir, cd, timings };
}
