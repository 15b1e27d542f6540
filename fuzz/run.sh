#!/usr/bin/env bash
# Runs one fuzz target for a while (default 540 s) in fork mode, so that a crash, timeout or
# out-of-memory is recorded in artifacts/<target>/ and fuzzing goes on. Build first:
#   RUSTC_BOOTSTRAP=1 cargo fuzz build -O
# (running the built binary directly keeps a concurrent edit of src/ from rebuilding it).
# Usage: ./run.sh TARGET [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
t=$1
secs=${2:-540}
mkdir -p "artifacts/$t" "corpus/$t" logs
exec "target/x86_64-unknown-linux-gnu/release/$t" "corpus/$t" \
  -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
  -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="artifacts/$t/" -print_final_stats=1
