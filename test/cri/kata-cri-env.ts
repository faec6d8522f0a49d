// A CRI containerd (test/support/cri-env.ts) whose `kata` handler runs this project's shim
// with the guest from build/guest: what every kata-through-CRI test starts from.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCriEnv, type CriEnv, type CriEnvOptions, type CriStopReport } from '../support/cri-env.js';
import { testVmConfig, type TestVmConfig } from '../vm/vm-config.js';

const DIST = join(import.meta.dirname, '../../dist');

export interface KataCriEnv extends CriEnv {
  /** The configuration.toml the kata handler uses (KATA_CONF_FILE). */
  readonly configPath: string;
  stop(): Promise<CriStopReport>;
}

export async function startKataCriEnv(o: { vm?: TestVmConfig; cri?: CriEnvOptions } = {}): Promise<KataCriEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'kcri-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(join(DIST, 'containerd-shim-kata-v2.mjs'), join(bin, 'containerd-shim-kata-v2'));
  await testVmConfig(dir, o.vm);
  const configPath = join(dir, 'configuration.toml');
  const env = await startCriEnv({ ...o.cri, extraPath: [bin, ...(o.cri?.extraPath ?? [])], env: { KATA_CONF_FILE: configPath, ...o.cri?.env } });
  return {
    ...env,
    configPath,
    async stop() {
      try {
        return await env.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
