#!/usr/bin/env bash
# Times tfparity and Checkov on the same generated plans and prints the ratio.
# Checkov is not a dependency: when it is not installed (pip install checkov), this script
# says so and times tfparity alone.
#
#   bench/checkov.sh [N ...]        # default: 50 500
#
# Plans come from `cargo run --release --example generate -- N target/bench-data`.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50 500)

cargo build --release -q
bin=target/release/tfparity

# Wall seconds and peak RSS (MB) of a command, from GNU time.
measure() {
  local out
  out=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>&1 || true
  # GNU time writes "Command exited with non-zero status N" first when the command fails
  # (tfparity exits 1 on findings): the figures are on the last line.
  read -r secs kb < <(tail -n 1 "$out")
  rm -f "$out"
  echo "$secs $((kb / 1024))"
}

for n in "${sizes[@]}"; do
  dir=target/bench-data/n$n
  [ -f "$dir/prod.plan.json" ] || cargo run --release -q --example generate -- "$n" target/bench-data
  bytes=$(($(stat -c %s "$dir/dev.plan.json") + $(stat -c %s "$dir/prod.plan.json")))
  read -r t_secs t_mb < <(measure "$bin" check --contract "$dir/parity.hcl" \
    --env "dev=$dir/dev.plan.json" --env "prod=$dir/prod.plan.json")
  echo "N=$n: $((bytes / 1000000)) MB of plans; tfparity check (pair): ${t_secs} s, ${t_mb} MB peak RSS"
  if command -v checkov >/dev/null 2>&1; then
    # Checkov reads one plan per run: both environments, as a team's CI would.
    read -r c1 m1 < <(measure checkov -f "$dir/dev.plan.json" --framework terraform_plan --quiet --compact)
    read -r c2 m2 < <(measure checkov -f "$dir/prod.plan.json" --framework terraform_plan --quiet --compact)
    total=$(echo "$c1 + $c2" | bc)
    echo "N=$n: checkov (dev + prod): ${total} s, peak RSS ${m1} / ${m2} MB; ratio $(echo "scale=1; $total / $t_secs" | bc)x"
  else
    echo "N=$n: checkov is not installed (pip install checkov): only tfparity was timed"
  fi
done
