/**
 * Waits for every promise to settle, then throws the first rejection (in the order given), if any.
 * Unlike `Promise.all`, no work is left running after the caller learns of a failure: a write still
 * in flight when a flush fails could otherwise land after the flush's retry (on Lambda, after the
 * frozen container resumes) and overwrite it.
 *
 * @example
 * await settleAll(chunks.map((chunk) => putBatch(doc, table, chunk)));
 */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const outcomes = await Promise.allSettled(promises);
  const values: T[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') throw outcome.reason;
    values.push(outcome.value);
  }
  return values;
}
