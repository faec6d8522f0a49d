// The error a promise rejects with, checked to be of the expected class.
import { expect } from 'vitest';
import { RuntimeError } from '../../src/errors/index.js';

export async function rejection<E extends Error = RuntimeError>(p: Promise<unknown>, type: abstract new (...args: never[]) => E = RuntimeError as never): Promise<E> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error('expected a rejection');
}
