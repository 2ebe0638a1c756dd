// What the examples' handlers report, and a way to wait for it: `push` from a handler,
// `until(predicate)` in the example. The wait is bounded (it rejects naming what did not arrive),
// never a sleep standing in for an event.
function inbox() {
  const items = []
  const waiters = new Set()
  const settle = () => {
    for (const w of waiters) {
      if (!w.predicate(items)) continue
      waiters.delete(w)
      clearTimeout(w.timer)
      w.resolve(items)
    }
  }
  return {
    items,
    push(item) {
      items.push(item)
      settle()
    },
    /** Resolves with every item so far once `predicate(items)` holds; rejects after `ms`. */
    until(predicate, what, ms = 30_000) {
      if (predicate(items)) return Promise.resolve(items)
      return new Promise((resolve, reject) => {
        const w = { predicate, resolve }
        w.timer = setTimeout(() => {
          waiters.delete(w)
          reject(new Error(`${what} did not happen within ${ms} ms (got ${JSON.stringify(items)})`))
        }, ms)
        waiters.add(w)
      })
    },
  }
}

module.exports = { inbox }
