// [agent.kata]: the host side of the agent connection and what the guest agent is told.
import { AGENT_DEFAULTS } from './defaults.js';
import type { SectionReader } from './section-reader.js';
import type { AgentConfig } from './types.js';

const KATA_ONLY_KEYS: ReadonlySet<string> = new Set(['container_pipe_size', 'launch_process_timeout', 'mem_agent']);

export function readAgentSection(r: SectionReader): AgentConfig {
  const d = AGENT_DEFAULTS;
  const agent: AgentConfig = {
    enableDebug: r.bool('enable_debug', d.enableDebug),
    enableTracing: r.bool('enable_tracing', d.enableTracing),
    kernelModules: r.stringArray('kernel_modules', d.kernelModules).map((m) => m.trim()).filter((m) => m !== ''),
    debugConsoleEnabled: r.bool('debug_console_enabled', d.debugConsoleEnabled),
    // 0 means "unset" for both timeouts, as for Kata's other uint settings.
    dialTimeoutSec: r.uint('dial_timeout', d.dialTimeoutSec, { unit: 'seconds' }) || d.dialTimeoutSec,
    cdhApiTimeoutSec: r.uint('cdh_api_timeout', d.cdhApiTimeoutSec, { unit: 'seconds' }) || d.cdhApiTimeoutSec,
  };
  r.warnUnread(KATA_ONLY_KEYS);
  return agent;
}
