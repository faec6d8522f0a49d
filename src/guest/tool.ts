// Short-lived system tools (mount, umount, hostname, modprobe): Node has no syscalls
// for these, busybox has the applets in the guest.
import { execFile } from 'node:child_process';
import { Code, RuntimeError } from '../errors/index.js';

export function runTool(file: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const detail = stderr.trim() || err.message;
      const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? Code.FAILED_PRECONDITION : Code.INTERNAL;
      reject(new RuntimeError(code, `${file} ${args.join(' ')}: ${detail}`, { cause: err }));
    });
  });
}
