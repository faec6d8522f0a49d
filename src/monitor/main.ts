// kata-monitor's process: parse the flags, serve until SIGTERM or SIGINT.
import { createLogger } from '../log/logger.js';
import { SHIM_VERSION } from '../shim/version.js';
import { parseMonitorArgs, USAGE } from './args.js';
import { KataMonitor } from './kata-monitor.js';
import { startMonitorHttp } from './server.js';

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseMonitorArgs(argv);
  switch (args.kind) {
    case 'version':
      process.stdout.write(`kata-monitor\n Version:\t${SHIM_VERSION}\n Node version:\t${process.versions.node}\n`);
      return 0;
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'usage-error':
      process.stderr.write(`kata-monitor: ${args.message}\n\n${USAGE}`);
      return 2;
  }
  const log = createLogger({ level: args.logLevel, base: { name: 'kata-monitor' } });
  const monitor = new KataMonitor({ sandboxesRoot: args.sandboxesRoot, shimTimeoutMs: args.shimTimeoutMs, log });
  let server;
  try {
    server = await startMonitorHttp(monitor, args.listen);
  } catch (err) {
    log.fatal({ err, listen: args.listenText }, 'cannot listen');
    return 1;
  }
  if (args.runtimeEndpoint) log.info({ runtimeEndpoint: args.runtimeEndpoint }, 'runtime endpoint ignored: sandboxes are found under the sandboxes directory');
  log.info({ address: server.address, sandboxesDir: args.sandboxesRoot, version: SHIM_VERSION }, 'kata-monitor listening');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve).once('SIGINT', resolve);
  });
  log.info({ signal }, 'kata-monitor stopping');
  await server.close();
  return 0;
}
