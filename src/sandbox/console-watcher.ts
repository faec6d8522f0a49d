// Kata's console watcher: with [hypervisor.qemu] enable_debug, every line the guest prints
// on its console (the kernel, /init, the agent's JSON lines) becomes a debug line of the
// shim's log, field `vmconsole` as in Kata. QEMU writes the console to a file; the watcher
// follows it from the start, so lines printed before it looked are not lost, and reads the
// rest once the VM is gone (through its open descriptor: the file is removed with the VM).
import { watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../log/logger.js';

/** A longer line is cut: the console is a debugging aid, not a data channel. */
export const MAX_CONSOLE_LINE = 4096;
const CHUNK = 64 * 1024;

/** Splits console bytes into lines; keeps an unfinished line for the next chunk. Pure. */
export class ConsoleLines {
  #partial = '';

  push(text: string): string[] {
    const parts = (this.#partial + text).split('\n');
    this.#partial = parts.pop() ?? '';
    if (this.#partial.length > MAX_CONSOLE_LINE) {
      parts.push(this.#partial);
      this.#partial = '';
    }
    return parts.map(clean).filter((l) => l.length > 0);
  }

  /** What is left at the end (a last line without its newline). */
  flush(): string[] {
    const rest = clean(this.#partial);
    this.#partial = '';
    return rest ? [rest] : [];
  }
}

const clean = (line: string): string => line.replace(/\r/g, '').trimEnd().slice(0, MAX_CONSOLE_LINE);

/**
 * Logs the console file at `path` line by line until `vmGone` settles, then its remainder;
 * settles once the last line was logged.
 */
export function watchGuestConsole(path: string, log: Logger, vmGone: Promise<unknown>): Promise<void> {
  const lines = new ConsoleLines();
  const emit = (list: string[]): void => {
    for (const vmconsole of list) log.debug({ vmconsole }, 'reading guest console');
  };
  return (async () => {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      log.warn({ path, err: (err as Error).message }, 'guest console not watched');
      return;
    }
    let gone = false;
    void vmGone.finally(() => (gone = true));
    let wake: (() => void) | undefined;
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(path, () => wake?.());
      watcher.on('error', () => wake?.());
    } catch {
      // No inotify for this file: the VM's end still wakes us, for one last read.
    }
    void vmGone.finally(() => wake?.());
    const buf = Buffer.allocUnsafe(CHUNK);
    const utf8 = new StringDecoder('utf8'); // a character split between two reads stays whole
    const readAvailable = async (): Promise<void> => {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) return;
        emit(lines.push(utf8.write(buf.subarray(0, bytesRead))));
      }
    };
    try {
      while (!gone) {
        const changed = new Promise<void>((resolve) => (wake = resolve));
        await readAvailable();
        if (!gone) await changed;
      }
      await readAvailable();
      emit(lines.flush());
    } catch (err) {
      log.warn({ path, err: (err as Error).message }, 'guest console watch ended');
    } finally {
      watcher?.close();
      await fh.close();
    }
  })();
}
