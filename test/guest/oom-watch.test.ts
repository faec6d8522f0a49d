// watchOom against a stand-in runc whose `events` prints what runc 1.1.5 prints.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOomLine, watchOom } from '../../src/guest/oom-watch.js';
import { Runc } from '../../src/guest/runc.js';
import { createLogger } from '../../src/log/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'oom-watch-'));
const log = createLogger({ level: 'silent' });

function fakeRunc(name: string, script: string): Runc {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return new Runc({ binary: file, root: join(dir, 'root') });
}

describe('watchOom (runc events)', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('recognises the OOM lines of runc events', () => {
    expect(isOomLine('{"type":"oom","id":"c1"}')).toBe(true);
    expect(isOomLine('{"type":"stats","id":"c1","data":{}}')).toBe(false);
    expect(isOomLine('time="..." level=error msg="container does not exist"')).toBe(false);
  });

  it('ends when runc events ends by itself, after every OOM line it wrote was handled', async () => {
    // The last line is written right before the exit (v1: the eventfd fired for the OOM, then for the rmdir).
    const runc = fakeRunc('ends', `echo '{"type":"stats","id":"c1","data":{}}'; echo '{"type":"oom","id":"c1"}'; printf '{"type":"oom","id":"c1"}'`);
    let notices = 0;
    const w = watchOom(runc, 'c1', () => notices++, log);
    await w.ended;
    expect(notices).toBe(2);
  });

  it('ends on stop() when runc events would run on', async () => {
    const runc = fakeRunc('hangs', `echo '{"type":"oom","id":"c1"}'; exec sleep 60`);
    let notices = 0;
    const w = watchOom(runc, 'c1', () => notices++, log);
    await new Promise((resolve) => setTimeout(resolve, 200));
    w.stop();
    await w.ended;
    expect(notices).toBe(1);
    w.stop(); // again, harmless
  });

  it('ends at once when runc cannot be run', async () => {
    const w = watchOom(new Runc({ binary: join(dir, 'missing'), root: dir }), 'c1', () => undefined, log);
    await w.ended;
  });
});
