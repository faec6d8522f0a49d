// [factory]: Kata's VM templating and VM cache. Parsed so Kata files load, not implemented.
import { FACTORY_DEFAULTS } from './defaults.js';
import type { SectionReader } from './section-reader.js';
import type { FactoryConfig } from './types.js';

export function readFactorySection(r: SectionReader): FactoryConfig {
  const d = FACTORY_DEFAULTS;
  const factory: FactoryConfig = {
    enableTemplate: r.bool('enable_template', d.enableTemplate),
    templatePath: r.path('template_path', d.templatePath, false),
    vmCacheNumber: r.uint('vm_cache_number', d.vmCacheNumber, { unit: 'VMs' }),
    vmCacheEndpoint: r.path('vm_cache_endpoint', d.vmCacheEndpoint, false),
  };
  if (factory.enableTemplate) r.warn('enable_template = true: VM templates are not implemented, ignored');
  if (factory.vmCacheNumber > 0) r.warn(`vm_cache_number = ${factory.vmCacheNumber}: the VM cache is not implemented, ignored`);
  r.warnUnread(new Set());
  return factory;
}
