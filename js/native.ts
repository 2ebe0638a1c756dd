/**
 * Loads the napi-rs binding (generated `binding.js`, which picks the platform package) and turns
 * a missing binary into one clear error: the platform, the package looked for, how to build.
 */
type Binding = typeof import('../binding')

function platformPackage(): string {
  const { platform, arch } = process
  if (platform !== 'linux') return `ferrokafka-${platform}-${arch}${platform === 'win32' ? '-msvc' : ''}`
  const report = (process.report?.getReport?.() ?? {}) as { header?: { glibcVersionRuntime?: string } }
  return `ferrokafka-linux-${arch}-${report.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
}

function load(): Binding {
  try {
    return require('../binding.js')
  } catch (cause) {
    const pkg = platformPackage()
    const err = new Error(
      `ferrokafka has no native binary for ${process.platform}-${process.arch} (Node ${process.versions.node}): ` +
      `the package ${pkg} is not installed or does not load. Reinstall without --no-optional / --omit=optional, ` +
      `or build from source in the ferrokafka repository with Rust and a C toolchain: npm install && npm run build.`,
    )
    ;(err as Error & { cause?: unknown }).cause = cause
    throw err
  }
}

export const native: Binding = load()
