#!/usr/bin/env bash
# scripts/bench-simulate.sh: the `claimdrift simulate` figure of `make bench`
# (run by scripts/bench.sh, after `make build`).
#
# Times, on fixtures/simulate/bench (50 resources, claimdrift's test
# provider through dev_overrides, terraform 1.5.7 from .tools/bin), the
# median of BENCH_SIM_RUNS runs of
#   simulate   bin/claimdrift simulate --format json DIR
#   2 plans    two plain `terraform plan -refresh=false` of the same template
# and prints the ratio (target of issue 9: at most 3×). Appends the table
# to .bench/results.md.
#
# Environment:
#   BENCH_SIM_RUNS  runs of each (default 5)
#   BENCH_STRICT    1: exit 1 when the target is missed
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
CLAIMDRIFT=${CLAIMDRIFT:-bin/claimdrift}
RUNS=${BENCH_SIM_RUNS:-5}
tf="$root/.tools/bin/terraform"
say() { printf '%s\n' "bench-simulate: $*" >&2; }

[ -x "$CLAIMDRIFT" ] || { say "$CLAIMDRIFT missing: run \`make build\`"; exit 1; }
[ -x "$tf" ] || { say "$tf missing: run \`make tools\`"; exit 1; }

mkdir -p .bench
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The test provider under the three names, and a CLI configuration.
go build -trimpath -o "$TMP/prov/bin/terraform-provider-fake" ./cmd/terraform-provider-fake
for t in coder docker kubernetes; do
	mkdir -p "$TMP/prov/$t"
	ln "$TMP/prov/bin/terraform-provider-fake" "$TMP/prov/$t/terraform-provider-$t"
done
cat >"$TMP/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "coder/coder"          = "$TMP/prov/coder"
    "kreuzwerker/docker"   = "$TMP/prov/docker"
    "hashicorp/kubernetes" = "$TMP/prov/kubernetes"
  }
  direct {}
}
EOF
for v in $(compgen -e); do
	case $v in CODER_* | TF_*) unset "$v" ;; esac
done
export TF_CLI_CONFIG_FILE="$TMP/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

dir="$TMP/bench"
cp -R fixtures/simulate/bench "$dir"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
: >"$TMP/sim.times"
: >"$TMP/plan.times"
for run in $(seq "$RUNS"); do
	start=$(ms)
	rc=0
	"$CLAIMDRIFT" simulate --terraform "$tf" --format json "$dir" >"$TMP/sim.json" 2>"$TMP/sim.err" || rc=$?
	end=$(ms)
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
		cat "$TMP/sim.err" >&2
		say "simulate failed (exit $rc)"
		exit 1
	fi
	echo $((end - start)) >>"$TMP/sim.times"
	start=$(ms)
	(cd "$dir" && "$tf" plan -refresh=false -input=false -no-color -out="$TMP/p.tfplan" >/dev/null &&
		"$tf" plan -refresh=false -input=false -no-color -out="$TMP/p.tfplan" >/dev/null)
	end=$(ms)
	echo $((end - start)) >>"$TMP/plan.times"
	rm -f "$TMP/p.tfplan"
	say "run $run/$RUNS done"
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1000}'; }
sim=$(median "$TMP/sim.times")
plans=$(median "$TMP/plan.times")
replaced=$(jq '.replacements | length' "$TMP/sim.json")
n=$(jq '.summary | .create + .update + .replace + .delete + .no_op' "$TMP/sim.json")
rounds=$(jq '.simulation.rounds' "$TMP/sim.json")
ratio=$(awk -v a="$sim" -v b="$plans" 'BEGIN{printf "%.2f", a/b}')
verdict=$(awk -v r="$ratio" 'BEGIN{print (r <= 3) ? "ok" : "MISS"}')
{
	printf '\n### claimdrift simulate (%s resources, %s replaced, settled in %s re-plans)\n\n' "$n" "$replaced" "$rounds"
	printf '| what | median wall (s) |\n|---|---:|\n'
	printf '| claimdrift simulate --format json | %s |\n' "$sim"
	printf '| two terraform plan -refresh=false | %s |\n' "$plans"
	printf '\nMedian of %s runs each, terraform 1.5.7, claimdrift'"'"'s test provider.\n' "$RUNS"
	printf '  %-4s simulate takes %s× the time of two plain plans (target ≤ 3×)\n' "$verdict" "$ratio"
} | tee -a .bench/results.md
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$verdict" != ok ]; then
	say "FAILED: simulate takes ${ratio}× two plans"
	exit 1
fi
