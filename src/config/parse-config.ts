// configuration.toml text + host facts -> validated, deeply frozen KataConfig. Pure: no
// file system, no environment; load-config.ts does the I/O around it.
import { parse, TomlError, type TomlTable } from 'smol-toml';
import { readAgentSection } from './agent-section.js';
import { ConfigError } from './config-error.js';
import { deepFreeze } from './deep-freeze.js';
import { readFactorySection } from './factory-section.js';
import { readQemuSection } from './qemu-section.js';
import { readRuntimeSection } from './runtime-section.js';
import { asTable, SectionReader } from './section-reader.js';
import type { HostFacts, HypervisorConfig, KataConfig } from './types.js';

type HypervisorReader = (r: SectionReader, host: HostFacts) => HypervisorConfig;

/** One entry per supported [hypervisor.<name>] section; add Cloud Hypervisor etc. here. */
const HYPERVISORS: Readonly<Record<string, HypervisorReader>> = { qemu: readQemuSection };

const SECTIONS = new Set(['hypervisor', 'agent', 'runtime', 'factory']);

export function parseConfig(text: string, source: string, host: HostFacts): KataConfig {
  const doc = parseToml(text, source);
  const warnings: string[] = [];
  for (const key of Object.keys(doc)) {
    if (!SECTIONS.has(key)) warnings.push(`${source}: ${key}: unknown top-level key or section, ignored`);
  }
  const section = (name: string, table: TomlTable | undefined): SectionReader =>
    new SectionReader(source, name, table ?? {}, warnings);

  const hypervisor = readHypervisor(source, asTable(source, 'hypervisor', doc['hypervisor']), host, warnings, section);

  const agents = asTable(source, 'agent', doc['agent']) ?? {};
  for (const name of Object.keys(agents)) {
    if (name !== 'kata') warnings.push(`${source}: [agent.${name}]: unknown agent, ignored (only [agent.kata] exists)`);
  }
  const agent = readAgentSection(section('agent.kata', asTable(source, 'agent.kata', agents['kata'])));
  const runtime = readRuntimeSection(section('runtime', asTable(source, 'runtime', doc['runtime'])));
  const factory = readFactorySection(section('factory', asTable(source, 'factory', doc['factory'])));

  return deepFreeze({ source, hypervisor, agent, runtime, factory, host: { ...host }, warnings }) as KataConfig;
}

function parseToml(text: string, source: string): TomlTable {
  try {
    return parse(text, { integersAsBigInt: true });
  } catch (err) {
    if (err instanceof TomlError) {
      const [summary = err.message] = err.message.split('\n');
      const reason = summary.replace(/^Invalid TOML document:\s*/, '');
      throw new ConfigError(
        `${source}: invalid TOML at line ${err.line}, column ${err.column}: ${reason}\n${err.codeblock}`.trimEnd(),
        { file: source, line: err.line, column: err.column },
        undefined,
        err,
      );
    }
    throw err;
  }
}

function readHypervisor(
  source: string,
  tables: TomlTable | undefined,
  host: HostFacts,
  warnings: string[],
  section: (name: string, table: TomlTable | undefined) => SectionReader,
): HypervisorConfig {
  const supported = Object.keys(HYPERVISORS).join(', ');
  const names = Object.keys(tables ?? {});
  for (const name of names) {
    if (!Object.hasOwn(HYPERVISORS, name)) {
      throw new ConfigError(
        `${source}: [hypervisor.${name}]: hypervisor "${name}" is not supported by this runtime (supported: ${supported})`,
        { file: source, section: `hypervisor.${name}` },
      );
    }
  }
  if (names.length > 1) {
    throw new ConfigError(
      `${source}: ${names.map((n) => `[hypervisor.${n}]`).join(', ')}: expected exactly one hypervisor section`,
      { file: source, section: 'hypervisor' },
    );
  }
  const name = names[0] ?? 'qemu';
  if (names.length === 0) warnings.push(`${source}: no [hypervisor.qemu] section, using the defaults`);
  const reader = HYPERVISORS[name] as HypervisorReader;
  return reader(section(`hypervisor.${name}`, asTable(source, `hypervisor.${name}`, tables?.[name])), host);
}
