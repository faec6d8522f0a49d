// KataConfig.warnings end up in the shim's log, one line each, so each must say on its own
// where the problem is: the file, and for a key its [section] and name.
import { describe, expect, it } from 'vitest';
import { applyAnnotations, parseConfig } from '../../src/config/index.js';

const FILE = '/etc/kata-containers/configuration.toml';
const HOST = { cpus: 4, memoryMiB: 8192 };

describe('configuration warnings name the file, section and key', () => {
  it('for every kind the parser produces', () => {
    const c = parseConfig(
      [
        'colour = "blue"',
        '[hypervisor.qemu]',
        'frobnicate = 1',
        'msize_9p = 8192',
        'default_vcpus = 8',
        'default_memory = 128',
        'default_maxmemory = 100000',
        'default_bridges = 9',
        'default_root_ports = 20',
        '[agent.kata]',
        'speed = "fast"',
        '[agent.other]',
        '[runtime]',
        'dan_conf = "/run/dan"',
        '[factory]',
        'enable_template = true',
        'vm_cache_number = 2',
        '',
      ].join('\n'),
      FILE,
      HOST,
    );
    expect(c.warnings).toEqual([
      `${FILE}: colour: unknown top-level key or section, ignored`,
      `${FILE}: [hypervisor.qemu] frobnicate: unknown key, ignored`,
      `${FILE}: [hypervisor.qemu] msize_9p: Kata keys not implemented by this runtime, ignored`,
      `${FILE}: [hypervisor.qemu] default_vcpus = 8: more than the 4 host CPUs, using 4 (as Kata does)`,
      `${FILE}: [hypervisor.qemu] default_memory = 128: below Kata's minimum of 256 MiB, using 2048 MiB (as Kata does)`,
      `${FILE}: [hypervisor.qemu] default_maxmemory = 100000: more than the host's 8192 MiB, using 8192 (as Kata does)`,
      `${FILE}: [hypervisor.qemu] default_bridges = 9: at most 5 PCI bridges, using 5`,
      `${FILE}: [hypervisor.qemu] default_root_ports = 20: at most 16 PCIe root ports, using 16`,
      `${FILE}: [agent.other]: unknown agent, ignored (only [agent.kata] exists)`,
      `${FILE}: [agent.kata] speed: unknown key, ignored`,
      `${FILE}: [runtime] dan_conf: Kata keys not implemented by this runtime, ignored`,
      `${FILE}: [factory] enable_template = true: VM templates are not implemented, ignored`,
      `${FILE}: [factory] vm_cache_number = 2: the VM cache is not implemented, ignored`,
    ]);
    expect(parseConfig('', FILE, HOST).warnings).toEqual([`${FILE}: no [hypervisor.qemu] section, using the defaults`]);
  });

  it('annotations add theirs, naming the annotation, after the file ones', () => {
    const base = parseConfig('[hypervisor.qemu]\ndefault_bridges = 9\nenable_annotations = [".*"]\n', FILE, HOST);
    const c = applyAnnotations(base, { 'io.katacontainers.config.hypervisor.msize_9p': '8192' });
    expect(c.warnings).toEqual([
      `${FILE}: [hypervisor.qemu] default_bridges = 9: at most 5 PCI bridges, using 5`,
      'annotation io.katacontainers.config.hypervisor.msize_9p: Kata applies it but this runtime does not implement it; ignored',
    ]);
  });
});
