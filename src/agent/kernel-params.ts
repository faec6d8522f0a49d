// The guest agent's settings that travel on the kernel command line (Kata's names).
import { DEBUG_CONSOLE_KERNEL_PARAM } from './debug-console-protocol.js';

export interface AgentKernelSettings {
  /** `[agent.kata] enable_debug`: the agent logs at debug level. */
  readonly debug: boolean;
  /** `[agent.kata] debug_console_enabled`: the agent serves its debug console port. */
  readonly debugConsole: boolean;
}

/**
 * Kata adds `agent.debug_console_vport=1026` too; here the console is a virtio-serial
 * port the agent finds by name, so there is no port number to pass.
 */
export function agentKernelParams(s: AgentKernelSettings): string[] {
  return [...(s.debug ? ['agent.log=debug'] : []), ...(s.debugConsole ? [DEBUG_CONSOLE_KERNEL_PARAM] : [])];
}
