// Bounded waits, the two shapes the project needs: fail when a promise takes too long,
// or just stop waiting for it. The promise itself is left to settle unobserved.

/** `p`, or the error `onTimeout()` makes once `ms` have passed first. */
export function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** True when `p` settled (either way) within `ms`; never rejects. */
export function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = p.then(() => true, () => true);
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}
