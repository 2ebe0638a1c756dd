#!/usr/bin/env bash
# The whole test command: build, type-check, run every Jest suite (MockCluster, then the interop
# suites against tansu), print one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
suite() { # name, command...
  local name=$1; shift
  echo "==> $name"
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

echo "==> build (native binding + TypeScript facade)"
if ! npm run --silent build; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

suite "cargo fmt --check" cargo fmt --all --check
suite "cargo test (Rust unit tests: routing, wildcards)" cargo test --release --quiet --lib -p ferrokafka
suite "tsc --noEmit --strict (type tests and examples)" npx tsc --noEmit --strict -p __test__/types/tsconfig.json
# The same program must also be valid against kafkajs's own typings: it proves the test is fair.
suite "tsc --noEmit --strict against kafkajs's typings" npx tsc --noEmit --strict -p __test__/types/tsconfig.kafkajs.json

skipped=0
# Failures are repeated, briefly, right above the summary line: a CI log kept only in part (its
# head and tail) still says which test failed and why.
digest=$(mktemp)
trap 'rm -f "$digest"' EXIT
# Runs Jest with --json and adds its test counts to the totals; a suite that broke before any
# test ran (or a Jest that failed without a report, e.g. a global setup error) counts as a failure.
jest_counted() { # name, jest args...
  local name=$1; shift
  echo "==> $name"
  local results jest_rc jp jf js
  results=$(mktemp)
  npx jest --ci --json --outputFile="$results" "$@"
  jest_rc=$?
  read -r jp jf js < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
    const broken = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length
    const lines = []
    for (const s of r.testResults) {
      const file = require("path").relative(process.cwd(), s.name)
      if (s.status === "failed" && s.assertionResults.length === 0) lines.push(`${file}: ${s.message}`)
      for (const t of s.assertionResults.filter((t) => t.status === "failed")) {
        lines.push(`${file} > ${t.fullName}`, ...t.failureMessages.join("\n").split("\n").filter((l) => !/^\s+at .*(node_modules|<anonymous>)/.test(l)).slice(0, 14).map((l) => `    ${l}`))
      }
    }
    const plain = lines.join("\n").replace(/\u001b\[[0-9;]*m/g, "")
    if (plain) require("fs").appendFileSync(process.argv[2], plain.split("\n").slice(0, 120).join("\n") + "\n")
    console.log(r.numPassedTests, r.numFailedTests + broken, r.numPendingTests)
  ' "$results" "$digest" 2>/dev/null || echo "0 1 0")
  rm -f "$results"
  if [ "$jest_rc" -ne 0 ] && [ "$jf" -eq 0 ]; then jf=1; fi
  echo "$name: ${jp} passed, ${jf} failed, ${js} skipped"
  passed=$((passed + jp))
  failed=$((failed + jf))
  skipped=$((skipped + js))
}

jest_counted "Jest suites (MockCluster)" "$@"
# The interop suites run against tansu, built once into ~/.cache/ferrokafka by scripts/tansu.sh
# (10-15 minutes the first time on a machine). No tansu is a failure, never a pass.
echo "==> tansu broker binary (scripts/tansu.sh)"
if tansu_bin=$(bash scripts/tansu.sh); then
  echo "tansu: $tansu_bin"
  FERROKAFKA_TANSU=$tansu_bin jest_counted "Jest interop suites (tansu broker)" -c jest.interop.config.js
else
  echo "FAILED: tansu could not be obtained, so the interop suites did not run"
  failed=$((failed + 1))
fi

if [ -s "$digest" ]; then
  echo "==> failed tests (first lines of each failure)"
  cat "$digest"
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
