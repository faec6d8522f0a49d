// Kata's load-time normalisations of [hypervisor.qemu] sizes (katautils/config.go
// defaultVCPUs, defaultMaxVCPUs, defaultMemSz, defaultMemSlots, defaultMaxMemSz,
// defaultBridges). Zero means "unset" and is replaced silently; any other value we
// change is reported as a warning so the user sees what the VM will really get.
import { ConfigError } from './config-error.js';
import {
  MAX_PCI_BRIDGES,
  MAX_PCIE_ROOT_PORTS,
  MIN_HYPERVISOR_MEMORY_MIB,
  QEMU_DEFAULTS,
  QEMU_MAX_VCPUS,
} from './defaults.js';
import type { SectionReader } from './section-reader.js';
import type { HostFacts, QemuConfig } from './types.js';

export function normaliseQemu(r: SectionReader, c: QemuConfig, host: HostFacts): QemuConfig {
  const hostVcpus = Math.min(host.cpus, QEMU_MAX_VCPUS);

  let defaultVcpus = c.defaultVcpus;
  if (defaultVcpus < 0) {
    defaultVcpus = hostVcpus; // documented Kata sentinel: "all host CPUs"
  } else if (defaultVcpus > hostVcpus) {
    r.warn(`default_vcpus = ${c.defaultVcpus}: more than the ${hostVcpus} host CPUs, using ${hostVcpus} (as Kata does)`);
    defaultVcpus = hostVcpus;
  } else if (defaultVcpus === 0) {
    defaultVcpus = QEMU_DEFAULTS.defaultVcpus;
  }

  let defaultMaxVcpus = c.defaultMaxVcpus;
  if (defaultMaxVcpus === 0) {
    defaultMaxVcpus = hostVcpus;
  } else if (defaultMaxVcpus > QEMU_MAX_VCPUS) {
    r.warn(`default_maxvcpus = ${c.defaultMaxVcpus}: QEMU supports at most ${QEMU_MAX_VCPUS}, using ${QEMU_MAX_VCPUS}`);
    defaultMaxVcpus = QEMU_MAX_VCPUS;
  } else if (defaultMaxVcpus > host.cpus) {
    // Kata clamps to the host CPU count; we keep the value because TCG (and KVM)
    // can run more vCPUs than host cores, which CPU-hotplug tests rely on.
    r.warn(`default_maxvcpus = ${c.defaultMaxVcpus}: more than the ${host.cpus} host CPUs (Kata would use ${host.cpus}); kept`);
  }
  if (r.has('default_maxvcpus') && c.defaultMaxVcpus !== 0 && Math.ceil(defaultVcpus) > defaultMaxVcpus) {
    throw new ConfigError(
      `${r.file}: [${r.section}] default_maxvcpus = ${c.defaultMaxVcpus}: expected at least default_vcpus (${Math.ceil(defaultVcpus)})`,
      { file: r.file, section: r.section, key: 'default_maxvcpus' },
    );
  }

  let defaultMemoryMiB = c.defaultMemoryMiB;
  if (defaultMemoryMiB < MIN_HYPERVISOR_MEMORY_MIB) {
    if (defaultMemoryMiB !== 0) {
      r.warn(
        `default_memory = ${c.defaultMemoryMiB}: below Kata's minimum of ${MIN_HYPERVISOR_MEMORY_MIB} MiB, ` +
          `using ${QEMU_DEFAULTS.defaultMemoryMiB} MiB (as Kata does)`,
      );
    }
    defaultMemoryMiB = QEMU_DEFAULTS.defaultMemoryMiB;
  }

  let defaultMaxMemoryMiB = c.defaultMaxMemoryMiB;
  if (defaultMaxMemoryMiB === 0) {
    defaultMaxMemoryMiB = host.memoryMiB;
  } else if (defaultMaxMemoryMiB > host.memoryMiB) {
    r.warn(`default_maxmemory = ${c.defaultMaxMemoryMiB}: more than the host's ${host.memoryMiB} MiB, using ${host.memoryMiB} (as Kata does)`);
    defaultMaxMemoryMiB = host.memoryMiB;
  }
  if (defaultMaxMemoryMiB < defaultMemoryMiB) {
    if (c.defaultMaxMemoryMiB !== 0 && c.defaultMaxMemoryMiB < defaultMemoryMiB) {
      throw new ConfigError(
        `${r.file}: [${r.section}] default_maxmemory = ${c.defaultMaxMemoryMiB}: expected at least default_memory (${defaultMemoryMiB} MiB)`,
        { file: r.file, section: r.section, key: 'default_maxmemory' },
      );
    }
    r.warn(`default_memory = ${defaultMemoryMiB}: more than the ${defaultMaxMemoryMiB} MiB maximum (host RAM); memory cannot be hot-added`);
    defaultMaxMemoryMiB = defaultMemoryMiB;
  }

  let defaultBridges = c.defaultBridges === 0 ? QEMU_DEFAULTS.defaultBridges : c.defaultBridges;
  if (defaultBridges > MAX_PCI_BRIDGES) {
    r.warn(`default_bridges = ${c.defaultBridges}: at most ${MAX_PCI_BRIDGES} PCI bridges, using ${MAX_PCI_BRIDGES}`);
    defaultBridges = MAX_PCI_BRIDGES;
  }
  let defaultRootPorts = c.defaultRootPorts;
  if (defaultRootPorts > MAX_PCIE_ROOT_PORTS) {
    r.warn(`default_root_ports = ${c.defaultRootPorts}: at most ${MAX_PCIE_ROOT_PORTS} PCIe root ports, using ${MAX_PCIE_ROOT_PORTS}`);
    defaultRootPorts = MAX_PCIE_ROOT_PORTS;
  }

  return {
    ...c,
    defaultVcpus,
    defaultMaxVcpus,
    defaultMemoryMiB,
    memorySlots: c.memorySlots === 0 ? QEMU_DEFAULTS.memorySlots : c.memorySlots,
    defaultMaxMemoryMiB,
    defaultBridges,
    defaultRootPorts,
  };
}
