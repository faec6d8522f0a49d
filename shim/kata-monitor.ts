// kata-monitor: the node's metrics, every sandbox's shim scraped and labelled; logic lives in src/monitor.
// No shebang here: scripts/bundle.mjs adds it to dist/kata-monitor.mjs.
import { main } from '../src/monitor/main.js';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
