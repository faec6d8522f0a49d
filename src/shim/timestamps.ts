// google.protobuf.Timestamp values as Go shims send them (protocol-reference §2.5,
// "Timestamp gotcha"): every exited_at is encoded, and "not exited" is Go's zero time.
import type { google } from '../gen/proto.js';

export type Timestamp = google.protobuf.Timestamp.$Properties;

/** Go's zero time.Time (0001-01-01T00:00:00Z) through timestamppb.New: what "never exited" looks like. */
export const ZERO_GO_TIME: Readonly<{ seconds: number; nanos: number }> = Object.freeze({
  seconds: -62_135_596_800,
  nanos: 0,
});

/** `date` (default: now) as a Timestamp; nanos stay in [0, 1e9) for dates before 1970 too. */
export function goTimestamp(date: Date = new Date()): { seconds: number; nanos: number } {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('goTimestamp: invalid Date');
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** An exited_at field: the exit time, or Go's zero time while the process is still running. */
export function exitTimestamp(exitedAt: Date | undefined): { seconds: number; nanos: number } {
  return exitedAt === undefined ? { ...ZERO_GO_TIME } : goTimestamp(exitedAt);
}
