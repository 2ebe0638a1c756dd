#!/usr/bin/env bash
# Ensures a tansu 0.6.0 broker binary and prints its path on stdout (progress goes to stderr).
#
# Order: $FERROKAFKA_TANSU if set, else the cached build, else one `cargo install` into the cache
# (10-15 minutes on 2 cores; the cache lives in the home directory, so a fresh clone on the same
# machine reuses it). The build enables tansu's `dynostore` feature because a default-featured
# tansu 0.6.0 has no storage engine at all: `--storage-engine memory://` then fails at start with
# FeatureNotEnabled { feature: "dynostore" }.
set -euo pipefail

version=0.6.0
features=dynostore
root=${FERROKAFKA_TANSU_CACHE:-$HOME/.cache/ferrokafka}/tansu-$version-$features
bin=$root/bin/tansu

if [ -n "${FERROKAFKA_TANSU:-}" ]; then
  if [ ! -x "$FERROKAFKA_TANSU" ]; then
    echo "tansu: FERROKAFKA_TANSU=$FERROKAFKA_TANSU is not an executable file" >&2
    exit 1
  fi
  echo "$FERROKAFKA_TANSU"
  exit 0
fi

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

if ! command -v cargo >/dev/null; then
  echo "tansu: $bin is missing and cargo is not installed, so it cannot be built" >&2
  exit 1
fi

mkdir -p "$root"
# Two runs starting at once (say, CI and a developer) must not both build into the same root.
exec 9>"$root.lock"
if command -v flock >/dev/null; then flock 9; fi
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

log=$root.install.log
echo "tansu: building tansu $version (features: $features) into $root — 10-15 minutes, once per machine" >&2
echo "tansu: cargo output goes to $log" >&2
start=$(date +%s)
# Prints a line every minute so a CI log shows the build is alive, not hung.
( while sleep 60; do echo "tansu: still building ($(( $(date +%s) - start )) s) — $(tail -n 1 "$log" 2>/dev/null | cut -c1-100)" >&2; done ) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true' EXIT
if ! cargo install tansu --version "$version" --locked --features "$features" --root "$root" >"$log" 2>&1; then
  echo "tansu: cargo install failed; the last lines of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
echo "tansu: built in $(( $(date +%s) - start )) s" >&2
echo "$bin"
