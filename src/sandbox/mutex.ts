// One critical section at a time, in call order: a sandbox's mutations (boot, create,
// update, delete, stop) must never interleave, or two first Creates boot two VMs and two
// Updates hotplug into the same slot.
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
