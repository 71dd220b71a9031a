#!/usr/bin/env bash
# Load figures of `claimdrift serve` (issue 12): claims at 10 and 10,000
# presets, tracks of a 20 KB claim plan (of claimed prebuilds' claim builds,
# then of builds and workspaces the store has never seen), and a reconcile
# pass over full pools
# at 10,000 presets / 100,000 prebuilds, on SQLite and on PostgreSQL
# ($CLAIMDRIFT_TEST_POSTGRES_DSN, as scripts/pg.sh writes it; skipped when
# unset). cmd/serveload seeds the database, starts `claimdrift serve` on it
# (built here, in its own process, on a loopback port) and runs 32
# concurrent clients over HTTP. Writes .bench/serve.md.
#   BENCH_SERVE_DURATION=5s  BENCH_SERVE_CLIENTS=32  BENCH_SERVE_STORES="sqlite postgres"
#   BENCH_SERVE_WARMUP=1s: the clients run this long first, unmeasured, while
#   the new server opens its database connections and prepares statements
#   (0s measures from the server's first request).
#   BENCH_SERVE_HISTORY=10000: builds tracked before each tracks run, then
#   ANALYZE, as on a database in use (0 measures from an empty
#   tracked_builds, which PostgreSQL's cached plans then scan).
#   BENCH_SERVE_ROUNDS=1: runs the whole set this many times, one round after
#   the other (so that a slow minute of a shared machine hits every row),
#   and then prints each row's median rate, p50 and p99 over the rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bench
out=.bench/serve.md
duration=${BENCH_SERVE_DURATION:-5s}
clients=${BENCH_SERVE_CLIENTS:-32}
stores=${BENCH_SERVE_STORES:-sqlite postgres}
rounds=${BENCH_SERVE_ROUNDS:-1}
warmup=${BENCH_SERVE_WARMUP:-1s}
history=${BENCH_SERVE_HISTORY:-10000}
case $rounds in '' | *[!0-9]* | 0)
	echo "bench-serve: BENCH_SERVE_ROUNDS=$rounds: want a whole number of rounds, at least 1" >&2
	exit 2
	;;
esac
if [ -z "${CLAIMDRIFT_TEST_POSTGRES_DSN:-}" ] && [ -f .tools/pg/env ]; then
	set -a; . .tools/pg/env; set +a
fi
go build -o .bench/serveload ./cmd/serveload
go build -o .bench/claimdrift ./cmd/claimdrift

{
	echo "serve load, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $clients clients, $duration per run after $warmup of warm-up, tracks after $history tracked builds"
	echo
	echo "| store | scenario | presets | ready prebuilds | clients | rate | p50 | p99 | max | CPU per request |"
	echo "|---|---|---:|---:|---:|---|---|---|---|---|"
} | tee "$out"
run_round() {
	local store presets scenario
	for store in $stores; do
		if [ "$store" = postgres ] && [ -z "${CLAIMDRIFT_TEST_POSTGRES_DSN:-}" ]; then
			echo "(postgres skipped: CLAIMDRIFT_TEST_POSTGRES_DSN is not set; scripts/pg.sh start)" | tee -a "$out"
			continue
		fi
		for presets in 10 10000; do
			.bench/serveload -serve .bench/claimdrift -store "$store" -scenario claims -presets "$presets" -clients "$clients" -warmup "$warmup" -duration "$duration" 2>/dev/null | tee -a "$out"
		done
		for scenario in tracks tracks-new; do
			.bench/serveload -serve .bench/claimdrift -store "$store" -scenario "$scenario" -presets 10 -clients "$clients" -warmup "$warmup" -history "$history" -duration "$duration" 2>/dev/null | tee -a "$out"
		done
		.bench/serveload -store "$store" -scenario pass -presets 10000 -prebuilds 10 -passes 3 2>/dev/null | tee -a "$out"
	done
}
for round in $(seq 1 "$rounds"); do
	[ "$rounds" -eq 1 ] || echo "| round $round of $rounds | | | | | | | | | |" | tee -a "$out"
	run_round
done
[ "$rounds" -eq 1 ] && exit 0

# Medians over the rounds, per store, scenario and preset count. The rows
# are serveload's: rate in the 7th field ("1256/s (...)"), p50 and p99 in
# the 8th and 9th ("p50 23.4 ms"); a pass row has its median in the 8th
# ("median 0.338 s"). mawk has no asort: median sorts by insertion.
{
	echo
	echo "medians of $rounds rounds"
	echo
	echo "| store | scenario | presets | rounds | rate (min to max) | p50 | p99 (min to max) |"
	echo "|---|---|---:|---:|---|---|---|"
	grep '^| \(sqlite\|postgres\) |' "$out" | awk -F'|' '
		function trim(x) { gsub(/^ +| +$/, "", x); return x }
		function num(x) { sub(/^[^0-9]*/, "", x); return x + 0 }
		function ms(x) { sub(/^ *p[0-9]+ +/, "", x); return x + 0 }
		# median of the n numbers in v (1..n), sorting v in place.
		function median(v, n,   i, j, t) {
			for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
			return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		}
		{
			key = trim($2) " | " trim($3) " | " trim($4)
			if (!(key in count)) order[++keys] = key
			k = ++count[key]
			if (trim($3) ~ /^reconcile pass/) { pass[key] = 1; rate[key, k] = num($8) } else {
				rate[key, k] = num($7); p50[key, k] = ms($8); p99[key, k] = ms($9)
			}
		}
		END {
			for (i = 1; i <= keys; i++) {
				key = order[i]; n = count[key]
				for (k = 1; k <= n; k++) { a[k] = rate[key, k]; b[k] = p50[key, k]; c[k] = p99[key, k] }
				m = median(a, n); lo = a[1]; hi = a[n]
				if (pass[key]) { printf "| %s | %d | pass median %.3f s (%.3f to %.3f) | | |\n", key, n, m, lo, hi; continue }
				mb = median(b, n); mc = median(c, n)
				printf "| %s | %d | %.0f/s (%.0f to %.0f) | %.1f ms | %.1f ms (%.1f to %.1f) |\n", key, n, m, lo, hi, mb, mc, c[1], c[n]
			}
		}'
} | tee -a "$out"
