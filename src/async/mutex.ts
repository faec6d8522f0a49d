// One critical section at a time, in call order: a sandbox's mutations (boot, create,
// update, delete) and a VM's hotplugs must never interleave, or two first Creates boot two
// VMs and two resizes pick the same CPU slot or DIMM id.
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once every section started before it has settled; its result or error is passed through. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
