// One-at-a-time execution of async sections: hotplug reads QEMU's free slots, then adds
// devices, and two resizes interleaving there would pick the same slot or DIMM id.

export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every section started before it has settled; its result or error is passed through. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => fn());
    // The next section waits for this one to settle, whether it failed or not.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
