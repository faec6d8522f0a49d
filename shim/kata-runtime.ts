// kata-runtime: the user-facing CLI (check, env, config paths); logic lives in src/cli.
// No shebang here: scripts/bundle.mjs adds it to dist/kata-runtime.mjs.
import { processCliIo } from '../src/cli/cli-io.js';
import { main } from '../src/cli/main.js';

void main(process.argv.slice(2), processCliIo()).then((code) => {
  process.exitCode = code;
});
