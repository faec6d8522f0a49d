// Reads a process's whole stdout from the agent: ReadStdout until the empty reply (EOF).
import type { Agent } from '../../src/agent/agent.js';

export async function readStdoutToEnd(agent: Agent, containerId: string, execId: string): Promise<string> {
  let out = '';
  for (let c = await agent.readStdout(containerId, execId, 32 * 1024); c.length; c = await agent.readStdout(containerId, execId, 32 * 1024)) {
    out += Buffer.from(c).toString();
  }
  return out;
}
