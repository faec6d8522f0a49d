// containerd-shim-kata-v2: the containerd shim v2 executable; logic lives in src/shim.
// No shebang here: scripts/bundle.mjs adds it to dist/containerd-shim-kata-v2.cjs, a small
// entry whose actions load their own chunks from dist/chunks/ (`start` loads no daemon code).
import { fileURLToPath } from 'node:url';
import { daemonCommand } from '../src/shim/daemon-launch.js';
import { main } from '../src/shim/main.js';

// `start` re-runs this very file as the daemon: Node resolved any symlink to it already,
// and a wrapper script named in argv[1] would not be JavaScript.
const self = daemonCommand(fileURLToPath(import.meta.url));

void main(process.argv.slice(2), process.env, { daemonCommand: self }).then(
  // Explicit exit: the daemon may leave handles (timers, child watchers) once it is done.
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`containerd-shim-kata-v2: ${String(err)}\n`);
    process.exit(1);
  },
);
