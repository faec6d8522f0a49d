import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_CONFIG_PATHS,
  loadConfig,
  resolveConfigPath,
} from '../../src/config/index.js';
import { Code } from '../../src/errors/index.js';

const HOST = { cpus: 2, memoryMiB: 4096 };

describe('resolveConfigPath: Kata lookup order', () => {
  const all = new Set(['/explicit.toml', '/env.toml', ...DEFAULT_CONFIG_PATHS]);
  const exists = (p: string): boolean => all.has(p);
  const env = { KATA_CONF_FILE: '/env.toml' };

  it('exports the default paths in order', () => {
    expect(DEFAULT_CONFIG_PATHS).toEqual([
      '/etc/kata-containers/configuration.toml',
      '/usr/share/defaults/kata-containers/configuration.toml',
    ]);
  });

  it('explicit path > KATA_CONF_FILE > /etc > /usr/share', () => {
    expect(resolveConfigPath({ explicit: '/explicit.toml', env, exists })).toBe('/explicit.toml');
    expect(resolveConfigPath({ env, exists })).toBe('/env.toml');
    expect(resolveConfigPath({ env: {}, exists })).toBe('/etc/kata-containers/configuration.toml');
    expect(resolveConfigPath({ env: {}, exists: (p) => p.startsWith('/usr/share/') })).toBe(
      '/usr/share/defaults/kata-containers/configuration.toml',
    );
    expect(resolveConfigPath({ explicit: '', env: { KATA_CONF_FILE: '' }, exists })).toBe(
      '/etc/kata-containers/configuration.toml',
    );
  });

  it('does not fall back when a named file is missing', () => {
    expect(() => resolveConfigPath({ explicit: '/nope.toml', env, exists })).toThrow(
      '/nope.toml: configuration file not found (given as explicit configuration path)',
    );
    expect(() => resolveConfigPath({ env: { KATA_CONF_FILE: '/gone.toml' }, exists })).toThrow(
      '/gone.toml: configuration file not found (given as KATA_CONF_FILE)',
    );
  });

  it('lists what it tried when nothing exists', () => {
    try {
      resolveConfigPath({ env: {}, exists: () => false });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe(Code.NOT_FOUND);
      expect((err as ConfigError).message).toBe(
        'no configuration file found: tried /etc/kata-containers/configuration.toml, ' +
          '/usr/share/defaults/kata-containers/configuration.toml (set KATA_CONF_FILE or pass a path)',
      );
    }
  });
});

describe('loadConfig with files', () => {
  let dir: string;
  let etc: string;
  let share: string;
  let envFile: string;
  let explicit: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kata-config-'));
    const write = (name: string, memory: number): string => {
      const p = join(dir, name);
      writeFileSync(p, `[hypervisor.qemu]\ndefault_memory = ${memory}\n`);
      return p;
    };
    etc = write('etc.toml', 512);
    share = write('share.toml', 768);
    envFile = write('env.toml', 1024);
    explicit = write('explicit.toml', 1536);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const memoryOf = async (opts: Parameters<typeof loadConfig>[0]): Promise<number> =>
    (await loadConfig({ host: HOST, ...opts })).hypervisor.defaultMemoryMiB;

  it('follows explicit > KATA_CONF_FILE > first default > second default', async () => {
    const defaultPaths = [etc, share];
    const env = { KATA_CONF_FILE: envFile };
    expect(await memoryOf({ path: explicit, env, defaultPaths })).toBe(1536);
    expect(await memoryOf({ env, defaultPaths })).toBe(1024);
    expect(await memoryOf({ env: {}, defaultPaths })).toBe(512);
    expect(await memoryOf({ env: {}, defaultPaths: [join(dir, 'missing.toml'), share] })).toBe(768);
  });

  it('records the file it loaded as source', async () => {
    const c = await loadConfig({ path: explicit, host: HOST });
    expect(c.source).toBe(explicit);
  });

  it('names the file in parse errors', async () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[hypervisor.qemu\n');
    await expect(loadConfig({ path: bad, host: HOST })).rejects.toThrow(`${bad}: invalid TOML at line 1`);
  });

  it('reads the real host facts when none are injected', async () => {
    const c = await loadConfig({ path: explicit });
    expect(c.host.cpus).toBeGreaterThan(0);
    expect(c.host.memoryMiB).toBeGreaterThan(0);
  });
});
