import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { containerCgroup, parseOomKill, readOomKills, removeCgroup, runcCgroup } from '../../src/guest/container-cgroup.js';

// memory.events of a cgroup v2 (kernel 6.1) after one OOM kill.
const MEMORY_EVENTS = 'low 0\nhigh 0\nmax 1207\noom 3\noom_kill 1\noom_group_kill 0\n';

describe("a container's cgroups", () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'cgroup-fake-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("puts runc's cgroup inside the agent's", () => {
    expect(containerCgroup('/kata-agent', 'c1')).toBe('/kata-agent/c1');
    expect(runcCgroup('/kata-agent', 'c1')).toBe('/kata-agent/c1/runc');
    expect(runcCgroup('kata-agent/', 'c1')).toBe('/kata-agent/c1/runc');
  });

  it('parses oom_kill from memory.events', () => {
    expect(parseOomKill(MEMORY_EVENTS)).toBe(1);
    expect(parseOomKill('oom 2\n')).toBeUndefined();
  });

  it('reads the count from the first cgroup2 root that has it; undefined on v1', async () => {
    const noMemory = tmp(); // the hybrid host's unified tree: no memory controller
    const v2 = tmp();
    mkdirSync(join(noMemory, 'kata-agent', 'c1'), { recursive: true });
    mkdirSync(join(v2, 'kata-agent', 'c1'), { recursive: true });
    writeFileSync(join(v2, 'kata-agent', 'c1', 'memory.events'), MEMORY_EVENTS);
    expect(await readOomKills('/kata-agent/c1', [noMemory, v2])).toBe(1);
    expect(await readOomKills('/kata-agent/c1', [noMemory])).toBeUndefined();
    expect(await readOomKills('/kata-agent/gone', [v2])).toBeUndefined();
  });

  it('removes the cgroup in every hierarchy, naming what stays', async () => {
    const [a, b, c] = [tmp(), tmp(), tmp()];
    mkdirSync(join(a, 'p', 'c1'), { recursive: true });
    mkdirSync(join(b, 'p', 'c1', 'runc'), { recursive: true }); // runc's leaf still there
    expect(await removeCgroup('/p/c1', [a, b, c])).toEqual([expect.stringMatching(/\/p\/c1: ENOTEMPTY$/)]);
    expect(existsSync(join(a, 'p', 'c1'))).toBe(false);
    expect(existsSync(join(b, 'p', 'c1'))).toBe(true);
  });
});
