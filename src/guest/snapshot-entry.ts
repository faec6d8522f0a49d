// The agent as the builder script of a V8 startup snapshot. scripts/guest/build.sh runs it
// once, with the guest's own node, while the image is built:
//   node --snapshot-blob kata-agent.blob --build-snapshot kata-agent.snapshot.cjs
// which loads the whole agent (its modules and the generated protobuf code) and saves the
// heap. The guest then starts `node --snapshot-blob kata-agent.blob` and goes straight to
// main(): under TCG that skips ~0.6 s of parsing and running 1 MB of code at every boot
// (docs/performance.md). Nothing here may run at load time that depends on the machine
// (no I/O, no timers, no handles): the snapshot is taken on the build host.
import v8 from 'node:v8';
import { exitProcess, main } from './main.js';

// Started from the snapshot, process.argv is [node, ...arguments]: no script path.
v8.startupSnapshot.setDeserializeMainFunction(() => void main(process.argv.slice(1)).then(exitProcess));
