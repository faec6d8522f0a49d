// Public API of the stdio layer: containerd's FIFOs ↔ the guest agent's process streams.
export { planStdio, type OutputTarget, type StdioPaths, type StdioPlan } from './stdio-plan.js';
export { openProcessIo, type ProcessIo, type StdinFifo } from './process-io.js';
export { attach, COPY_CHUNK, type AttachOptions, type StdioCopy } from './stdio-copy.js';
export { openHostStdio } from './host-stdio.js';
export type { OutputSink } from './output-sink.js';
