// CRI container log files: `<RFC3339Nano> <stdout|stderr> <P|F> <content>` lines, as
// containerd's CRI plugin writes them, parsed and reassembled into the original streams.
import { existsSync, readFileSync } from 'node:fs';

export interface CriLogEntry {
  /** RFC 3339 with nanoseconds, as written. */
  time: string;
  stream: 'stdout' | 'stderr';
  /** "P": the content continues in the next entry of the stream (no newline was there). */
  partial: boolean;
  content: Buffer;
}

/**
 * Parses a CRI log file: lines `<RFC3339Nano> <stdout|stderr> <P|F> <content>`. containerd
 * splits lines longer than max_container_log_line_size (16 KiB) into P entries, and writes
 * output that ended without a newline as a final P entry.
 */
export function parseCriLog(data: Buffer | string): CriLogEntry[] {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const entries: CriLogEntry[] = [];
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end === -1) end = buf.length; // a line still being written
    const line = buf.subarray(start, end);
    start = end + 1;
    const s1 = line.indexOf(0x20);
    const s2 = line.indexOf(0x20, s1 + 1);
    const s3 = line.indexOf(0x20, s2 + 1);
    const stream = line.subarray(s1 + 1, s2).toString();
    const tag = line.subarray(s2 + 1, s3 === -1 ? line.length : s3).toString();
    if (s1 <= 0 || s2 === -1 || (stream !== 'stdout' && stream !== 'stderr') || (tag !== 'P' && tag !== 'F')) {
      throw new Error(`CRI log: malformed line: ${line.subarray(0, 120).toString()}`);
    }
    entries.push({
      time: line.subarray(0, s1).toString(),
      stream,
      partial: tag === 'P',
      content: Buffer.from(s3 === -1 ? Buffer.alloc(0) : line.subarray(s3 + 1)),
    });
  }
  return entries;
}

/** The original byte streams: F entries get their newline back, P entries are joined. (A "\r\n" comes back as "\n".) */
export function reassembleCriLog(entries: readonly CriLogEntry[]): { stdout: Buffer; stderr: Buffer } {
  const parts: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
  for (const e of entries) {
    parts[e.stream].push(e.content);
    if (!e.partial) parts[e.stream].push(Buffer.from('\n'));
  }
  return { stdout: Buffer.concat(parts.stdout), stderr: Buffer.concat(parts.stderr) };
}

/** Reads and reassembles a container's log file (ContainerStatus.log_path). */
export function readCriLog(path: string): { entries: CriLogEntry[]; stdout: Buffer; stderr: Buffer } {
  const entries = existsSync(path) ? parseCriLog(readFileSync(path)) : [];
  return { entries, ...reassembleCriLog(entries) };
}
