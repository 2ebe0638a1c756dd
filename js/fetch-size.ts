/**
 * How many messages each fetch of the run loop asks Rust for (one crossing carries them, and the
 * next fetch is drained meanwhile): as many as the handlers got through in about FETCH_BUDGET_MS,
 * within these bounds. Fast handlers get large fetches (the per-fetch work spread thin:
 * eachMessage +24%, eachBatch +7% at 8000 against 2000 on the MockCluster); slow ones small
 * fetches, so events, stores and rebalances are not held behind a long batch.
 */
const MIN_BATCH = 500
export const FIRST_BATCH = 2000
const MAX_BATCH = 8000
const FETCH_BUDGET_MS = 100
export const FETCH_WAIT_MS = 200

/** The next fetch's size after `count` messages took `ms` to handle. */
export function nextBatchSize(count: number, ms: number, current: number): number {
  // A few messages say little about the handlers' speed.
  if (count < 100) return current
  const fit = Math.round((count * FETCH_BUDGET_MS) / Math.max(ms, 0.01))
  return Math.min(MAX_BATCH, Math.max(MIN_BATCH, fit))
}
