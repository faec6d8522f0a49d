// A CRI containerd (test/support/cri-env.ts) whose `kata` handler runs this project's shim
// with the guest from build/guest: what every kata-through-CRI test starts from. More
// handlers can run the same shim with their own configuration file (the runtime options'
// ConfigPath, as RuntimeClass variants of Kata do).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRI_PLUGIN_TABLE } from '../support/cri-config.js';
import { podNetnsPath, startCriEnv, waitFor, type CriEnv, type CriEnvOptions, type CriStopReport, type RunningPod } from '../support/cri-env.js';
import { tomlString } from '../support/containerd-config.js';
import { testVmConfig, type TestVmConfig } from '../vm/vm-config.js';
import { NOTHING_LEFT_OF_POD, podLeftovers, type PodLeftovers } from './pod-audit.js';

const DIST = join(import.meta.dirname, '../../dist');

export interface KataCriEnv extends CriEnv {
  /** The configuration.toml the kata handler uses (KATA_CONF_FILE). */
  readonly configPath: string;
  /** ExecSync of `sh -c script`, output as text. */
  sh(containerId: string, script: string): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  /** StopPodSandbox + RemovePodSandbox, then what the pod left (waits a while for nothing). */
  removePod(pod: RunningPod): Promise<PodLeftovers>;
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
  symlinkSync(join(DIST, 'containerd-shim-kata-v2.cjs'), join(bin, 'containerd-shim-kata-v2'));
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
    async sh(containerId, script) {
      const r = await env.cri.execSync({ container_id: containerId, cmd: ['sh', '-c', script], timeout: 60 });
      return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exitCode: r.exit_code };
    },
    async removePod(pod) {
      const netns = await podNetnsPath(env.cri, pod.id);
      await env.cri.stopPodSandbox({ pod_sandbox_id: pod.id });
      await env.cri.removePodSandbox({ pod_sandbox_id: pod.id });
      const clean = (): boolean => JSON.stringify(podLeftovers(pod.id, env.cd.address, netns)) === JSON.stringify(NOTHING_LEFT_OF_POD);
      await waitFor('the pod to leave nothing behind', clean, { timeoutMs: 15_000 }).catch(() => undefined);
      return podLeftovers(pod.id, env.cd.address, netns);
    },
    async stop() {
      try {
        return await env.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
