// The error a promise rejects with, checked to be of the expected class.
import { expect } from 'vitest';
import { RpcError } from '../../src/ttrpc/status.js';

export async function rejection<E extends Error = RpcError>(p: Promise<unknown>, type: abstract new (...args: never[]) => E = RpcError as never): Promise<E> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error('expected a rejection');
}
