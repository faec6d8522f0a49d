// A CRI containerd (test/support/cri-env.ts) whose `kata` handler runs this project's shim
// with the guest from build/guest: what every kata-through-CRI test starts from. More
// handlers can run the same shim with their own configuration file (the runtime options'
// ConfigPath, as RuntimeClass variants of Kata do).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRI_PLUGIN_TABLE } from '../support/cri-config.js';
import { startCriEnv, type CriEnv, type CriEnvOptions, type CriStopReport } from '../support/cri-env.js';
import { tomlString } from '../support/containerd-config.js';
import { testVmConfig, type TestVmConfig } from '../vm/vm-config.js';

const DIST = join(import.meta.dirname, '../../dist');

export interface KataCriEnv extends CriEnv {
  /** The configuration.toml the kata handler uses (KATA_CONF_FILE). */
  readonly configPath: string;
  stop(): Promise<CriStopReport>;
}

export interface KataCriEnvOptions {
  vm?: TestVmConfig;
  /** Extra kata handlers, each with its own configuration (passed as runtime options' ConfigPath). */
  handlers?: Readonly<Record<string, TestVmConfig>>;
  cri?: CriEnvOptions;
}

export async function startKataCriEnv(o: KataCriEnvOptions = {}): Promise<KataCriEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'kcri-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(join(DIST, 'containerd-shim-kata-v2.mjs'), join(bin, 'containerd-shim-kata-v2'));
  await testVmConfig(dir, o.vm);
  const runtimes: Record<string, Record<string, string>> = {};
  const options: string[] = [];
  for (const [name, vm] of Object.entries(o.handlers ?? {})) {
    const hdir = join(dir, name);
    mkdirSync(hdir);
    await testVmConfig(hdir, vm);
    runtimes[name] = { runtime_type: 'io.containerd.kata.v2' };
    options.push(`[${CRI_PLUGIN_TABLE}.containerd.runtimes.${tomlString(name)}.options]`, `  ConfigPath = ${tomlString(join(hdir, 'configuration.toml'))}`);
  }
  const configPath = join(dir, 'configuration.toml');
  const env = await startCriEnv({
    ...o.cri,
    extraPath: [bin, ...(o.cri?.extraPath ?? [])],
    env: { KATA_CONF_FILE: configPath, ...o.cri?.env },
    runtimes: { ...runtimes, ...o.cri?.runtimes },
    extraCriConfig: [o.cri?.extraCriConfig ?? '', ...options].join('\n'),
  });
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
