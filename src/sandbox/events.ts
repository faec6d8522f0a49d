// What happens to a sandbox's containers, in the order it happened. The sandbox emits
// every event through one callback, synchronously, at the moment the state changes; the
// shim maps them onto containerd's topics and forwards them in that order.
import type { ExitInfo, StdioPaths } from './process.js';
import type { RootfsMount } from './shared-fs.js';

export type { ExitInfo } from './process.js';

export type SandboxEvent =
  | { readonly type: 'created'; readonly containerId: string; readonly bundle: string; readonly rootfs: readonly RootfsMount[]; readonly stdio: StdioPaths }
  | { readonly type: 'started'; readonly containerId: string; readonly execId: string }
  | { readonly type: 'exec-added'; readonly containerId: string; readonly execId: string }
  | { readonly type: 'oom'; readonly containerId: string }
  /** After the process's output reached the host: Wait answers only after this. */
  | { readonly type: 'exited'; readonly containerId: string; readonly execId: string; readonly exit: ExitInfo }
  | { readonly type: 'paused' | 'resumed'; readonly containerId: string }
  | { readonly type: 'deleted'; readonly containerId: string; readonly exit: ExitInfo };

export type SandboxEventSink = (event: SandboxEvent) => void;
