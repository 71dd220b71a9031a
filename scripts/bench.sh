#!/usr/bin/env bash
# scripts/bench.sh: called by `make bench` (after `make build`).
#
# Generates large, realistic plans with cmd/plangen (~20 MB and ~200 MB by
# default), then runs side by side on each, several times:
#   claimdrift    bin/claimdrift analyze --format json PLAN
#   tfjson        cmd/tfjson-baseline: decode whole into tfjson.Plan, walk changes
#   jq            jq selecting the same replacements
#   cat           cat PLAN > /dev/null (the cost of reading the file, for scale)
# checks that the three tools find the same set of replaced addresses, and
# prints the median wall time, MB/s and peak RSS of each, and the ratios.
#
# Environment:
#   BENCH_SIZES   plan sizes to generate        (default "20MB 200MB")
#   BENCH_RUNS    runs per tool and size         (default 5; 3 above 100 MB)
#   BENCH_SEED    generator seed                 (default 1)
#   BENCH_RATIO   share of resources replaced    (default 0.1)
#   BENCH_STRICT  1: exit 1 when a target of issue 3 is missed
# Results also go to .bench/results.md (markdown table).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH=.bench
SIZES=${BENCH_SIZES:-"20MB 200MB"}
SEED=${BENCH_SEED:-1}
RATIO=${BENCH_RATIO:-0.1}
CLAIMDRIFT=${CLAIMDRIFT:-bin/claimdrift}
export LC_ALL=C

say() { printf '%s\n' "bench: $*" >&2; }

apt_install() {
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	say "installing Debian package(s): $*"
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

[ -x /usr/bin/time ] || apt_install time
command -v jq >/dev/null || apt_install jq
[ -x "$CLAIMDRIFT" ] || { say "$CLAIMDRIFT missing: run \`make build\` (make bench does)"; exit 1; }

mkdir -p "$BENCH"
go build -trimpath -o "$BENCH/plangen" ./cmd/plangen
go build -trimpath -o "$BENCH/tfjson-baseline" ./cmd/tfjson-baseline
GEN_STAMP=$(sha256sum "$BENCH/plangen" | cut -c1-16)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# measure TOOL OUT CMD...: runs CMD once with stdout to OUT, appends
# "wall_seconds peak_rss_kib" to $TMP/TOOL.times.
measure() {
	local tool=$1 out=$2
	shift 2
	local start end rc=0
	start=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$TMP/rss" "$@" >"$out" 2>"$TMP/stderr" || rc=$?
	end=$(date +%s%N)
	# claimdrift exits 2 when the plan replaces something: that is success.
	if [ "$rc" -ne 0 ] && ! { [ "$tool" = claimdrift ] && [ "$rc" -eq 2 ]; }; then
		say "$tool failed (exit $rc):"
		cat "$TMP/stderr" >&2
		exit 1
	fi
	echo "$(( (end - start) / 1000 )) $(tail -n1 "$TMP/rss")" >>"$TMP/$tool.times"
}

# median of the first column (microseconds) in seconds; max of the second in MiB.
median_s() { awk '{print $1}' "$1" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m/1e6}'; }
max_rss_mib() { awk 'BEGIN{m=0} $2>m{m=$2} END{printf "%.1f", m/1024}' "$1"; }

JQ_FILTER='.resource_changes[]? | select(.change.actions == ["delete","create"] or .change.actions == ["create","delete"]) | .address'

RESULTS="$TMP/results"
: >"$RESULTS"
status=0
for size in $SIZES; do
	plan="$BENCH/plan-$size-seed$SEED-ratio$RATIO.json"
	if [ -f "$plan" ] && [ "$(cat "$plan.stamp" 2>/dev/null)" = "$GEN_STAMP" ]; then
		say "reusing $plan"
	else
		say "generating $plan"
		"$BENCH/plangen" -size "$size" -replace-ratio "$RATIO" -seed "$SEED" -o "$plan"
		echo "$GEN_STAMP" >"$plan.stamp"
	fi
	bytes=$(stat -c %s "$plan")
	mb=$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}')
	runs=${BENCH_RUNS:-$([ "$bytes" -gt 100000000 ] && echo 3 || echo 5)}
	rm -f "$TMP"/*.times
	cat "$plan" >/dev/null # page cache, for every tool alike
	say "$size ($mb MB): $runs runs of each tool"
	for run in $(seq "$runs"); do
		measure claimdrift "$TMP/claimdrift.out" "$CLAIMDRIFT" analyze --format json "$plan"
		measure tfjson "$TMP/tfjson.out" "$BENCH/tfjson-baseline" "$plan"
		measure jq "$TMP/jq.out" jq -r "$JQ_FILTER" "$plan"
		measure cat /dev/null cat "$plan"
		say "  run $run/$runs done"
	done
	jq -r '.replacements[].resource' "$TMP/claimdrift.out" | sort >"$TMP/claimdrift.set"
	sort "$TMP/tfjson.out" >"$TMP/tfjson.set"
	sort "$TMP/jq.out" >"$TMP/jq.set"
	n=$(wc -l <"$TMP/claimdrift.set")
	for other in tfjson jq; do
		if ! cmp -s "$TMP/claimdrift.set" "$TMP/$other.set"; then
			say "MISMATCH on $size: claimdrift and $other list different replacements:"
			diff "$TMP/claimdrift.set" "$TMP/$other.set" | head -n 20 >&2
			status=1
		fi
	done
	[ "$status" -eq 0 ] && say "  all three list the same $n replacements"
	for tool in claimdrift tfjson jq cat; do
		echo "$size $mb $tool $(median_s "$TMP/$tool.times") $(max_rss_mib "$TMP/$tool.times") $runs $n" >>"$RESULTS"
	done
done

# Table: per size, each tool with its ratio to claimdrift.
awk '
	{ size[NR]=$1; mb[NR]=$2; tool[NR]=$3; wall[NR]=$4; rss[NR]=$5; runs[NR]=$6; n[NR]=$7
	  if ($3 == "claimdrift") { cw[$1]=$4; cr[$1]=$5 } }
	END {
		printf "\n| plan | tool | median wall (s) | MB/s | peak RSS (MiB) | time vs claimdrift | RSS vs claimdrift |\n"
		printf "|---|---|---:|---:|---:|---:|---:|\n"
		for (i = 1; i <= NR; i++) {
			label = (tool[i] == "claimdrift") ? "claimdrift analyze --format json" : \
			        (tool[i] == "tfjson") ? "tfjson baseline (encoding/json)" : \
			        (tool[i] == "jq") ? "jq" : "cat > /dev/null (read only)"
			tr = (tool[i] == "claimdrift") ? "1×" : sprintf("%.1f×", wall[i] / cw[size[i]])
			rr = (tool[i] == "claimdrift") ? "1×" : sprintf("%.1f×", rss[i] / cr[size[i]])
			if (tool[i] == "cat") { tr = sprintf("%.2f×", wall[i] / cw[size[i]]); rr = "" }
			printf "| %s MB, %d replaced | %s | %.3f | %.0f | %.1f | %s | %s |\n", mb[i], n[i], label, wall[i], mb[i] / wall[i], rss[i], tr, rr
		}
		printf "\nMedian of %s runs per tool (peak RSS: the largest of the runs). MB = 10^6 bytes.\n", runs[NR]
	}' "$RESULTS" | tee "$BENCH/results.md"

# Targets of issue 3, on the largest plan.
largest=$(tail -n 1 "$RESULTS" | awk '{print $1}')
awk -v big="$largest" '
	{ w[$1" "$3]=$4; r[$1" "$3]=$5; if ($3 == "claimdrift") { rs[++k]=$5 } }
	END {
		miss = 0
		tf = w[big" tfjson"] / w[big" claimdrift"]; jqr = w[big" jq"] / w[big" claimdrift"]
		lo = rs[1]; hi = rs[1]; for (i in rs) { if (rs[i] < lo) lo = rs[i]; if (rs[i] > hi) hi = rs[i] }
		printf "\ntargets (issue 3, %s plan):\n", big
		printf "  %-4s claimdrift %.1f× faster than the tfjson baseline (target ≥ 10×)\n", (tf >= 10 ? "ok" : "MISS"), tf
		printf "  %-4s claimdrift %.1f× faster than jq (target ≥ 5×)\n", (jqr >= 5 ? "ok" : "MISS"), jqr
		printf "  %-4s claimdrift peak RSS at most %.1f MiB (target ≤ 64 MiB)\n", (hi <= 64 ? "ok" : "MISS"), hi
		printf "  %-4s claimdrift peak RSS %.1f to %.1f MiB across sizes (target: within 10%%)\n", (hi <= lo * 1.1 ? "ok" : "MISS"), lo, hi
		miss = (tf < 10) + (jqr < 5) + (hi > 64) + (hi > lo * 1.1)
		exit (miss > 0) ? 3 : 0
	}' "$RESULTS" | tee -a "$BENCH/results.md" || true

# claimdrift simulate on a 50-resource template vs two plain plans (issue 9).
scripts/bench-simulate.sh || { say "FAILED: the simulate bench did not run"; exit 1; }
targets_missed=$(grep -c '^  MISS' "$BENCH/results.md" || true)

if [ "$status" -ne 0 ]; then
	say "FAILED: the tools disagree on the replacements"
	exit 1
fi
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$targets_missed" -gt 0 ]; then
	say "FAILED: $targets_missed target(s) missed"
	exit 1
fi

# The service under load (issue 12): scripts/bench-serve.sh, also `make bench-serve`.
if [ "${BENCH_SERVE:-1}" = 1 ]; then
	scripts/bench-serve.sh
fi
