#!/usr/bin/env bash
# Runs every Fuzz* target of every package for FUZZTIME (go test -fuzz
# takes one target per run), so a new parser's fuzz target runs in CI as
# soon as it exists. Each run is bounded (300 s) against a hung worker.
#
# A real finding fails: a crash, a failed check or a hung input makes
# go test write the input under testdata/fuzz/<target>/. Go 1.26's fuzz
# coordinator can also fail a target with a bare "context deadline
# exceeded" at the end of -fuzztime, having found nothing (a race between
# its deadline and its workers' context, go.dev/issue/75804, fixed in Go
# 1.27). Such a run is accepted only when it wrote no input and the
# target then passes on its whole corpus, and it says so.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}

crashers() { # the inputs go test has written for target $2 in package dir $1
  find "$1/testdata/fuzz/$2" -type f 2>/dev/null | sort || true
}

for file in $(grep -rl --include='*_test.go' --exclude-dir=.git '^func Fuzz' . | sort); do
  dir=$(dirname "$file")
  for fn in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
    echo "fuzz $dir $fn ($FUZZTIME)"
    before=$(crashers "$dir" "$fn")
    log=$(mktemp)
    if timeout --kill-after=10 300 "$GO" test -run '^$' -fuzz "^$fn\$" -fuzztime "$FUZZTIME" "$dir" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
      rm -f "$log"
      continue
    fi
    after=$(crashers "$dir" "$fn")
    if [ "$before" = "$after" ] && grep -q '^--- FAIL: '"$fn"' ' "$log" &&
      [ "$(grep -A1 '^--- FAIL: '"$fn"' ' "$log" | tail -n1 | tr -d '[:space:]')" = "contextdeadlineexceeded" ]; then
      echo "fuzz $dir $fn: 'context deadline exceeded' with no input written (Go's fuzz coordinator race, go.dev/issue/75804); replaying its corpus"
      if "$GO" test -count=1 -run "^$fn\$" "$dir"; then
        rm -f "$log"
        continue
      fi
    fi
    rm -f "$log"
    echo "fuzz $dir $fn failed or did not end within 300 s" >&2
    exit 1
  done
done
