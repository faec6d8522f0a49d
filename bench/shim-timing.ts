// The shim's `start` wall time, as bench/ctr-run.ts and bench/startup.ts measure it: a bash
// wrapper in front of the bundled shim records each `start` invocation; every other
// invocation is the shim itself.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIST = join(import.meta.dirname, '../dist');

/** Writes `bin/containerd-shim-kata-v2`, appending each `start`'s milliseconds to `timings`. */
export function timingShim(bin: string, timings: string): void {
  writeFileSync(
    join(bin, 'containerd-shim-kata-v2'),
    `#!/bin/bash
case " $* " in
  *" start "*) t0=$(date +%s%N); node ${DIST}/containerd-shim-kata-v2.mjs "$@"; rc=$?; echo $(( ($(date +%s%N) - t0) / 1000000 )) >> ${timings}; exit $rc ;;
  *) exec node ${DIST}/containerd-shim-kata-v2.mjs "$@" ;;
esac
`,
  );
  chmodSync(join(bin, 'containerd-shim-kata-v2'), 0o755);
}

/** The `start` wall times recorded so far. */
export function startTimes(timings: string): number[] {
  return existsSync(timings) ? readFileSync(timings, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];
}
