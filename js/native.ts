/** Loads the napi-rs binding (generated `binding.js`, which picks the platform package). */
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const native: typeof import('../binding') = require('../binding.js')
