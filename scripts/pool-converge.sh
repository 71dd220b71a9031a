#!/usr/bin/env bash
# Measures how long a prebuild pool takes to be whole again after its
# reconciler is killed with SIGKILL in the middle of creates: a real
# `claimdrift reconcile` (SQLite file in a temporary directory) with create
# commands that take CREATE_SECONDS and leave a marker file per workspace;
# it is killed once its creates run, a second reconciler is started, and the
# time until `status` shows the pool full with nothing in progress is printed.
# Every marker must then belong to a live prebuild (none leaked).
#
#   scripts/pool-converge.sh                         # --build-lease 30s --interval 5s
#   LEASE=2s INTERVAL=200ms scripts/pool-converge.sh
set -euo pipefail
LEASE=${LEASE:-30s}
INTERVAL=${INTERVAL:-5s}
CREATE_SECONDS=${CREATE_SECONDS:-3}
DESIRED=${DESIRED:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/claimdrift" "$root/cmd/claimdrift"
export CLAIMDRIFT_DB="$work/pool.db" CONVERGE_DIR="$work"
mkdir "$work/m"
cd "$work"
./claimdrift template import --name dev "$root/testdata/plans/claim.json" >/dev/null
./claimdrift preset add --template dev --name small --instances "$DESIRED" >/dev/null
create="echo start >>\"\$CONVERGE_DIR/jobs\"; sleep $CREATE_SECONDS; touch \"\$CONVERGE_DIR/m/\$CLAIMDRIFT_WORKSPACE_ID\""
delete='rm -f "$CONVERGE_DIR/m/$CLAIMDRIFT_WORKSPACE_ID"'
reconciler() {
	./claimdrift reconcile --notify none --interval "$INTERVAL" --build-lease "$LEASE" --create-cmd "$create" --delete-cmd "$delete" >>"$work/reconcile.log" 2>&1 &
	pids+=($!)
}
now() { date +%s.%N; }

reconciler
first=${pids[0]}
until [ -s jobs ]; do sleep 0.1; done
sleep 1
kill -KILL "$first"
killed=$(now)
wait "$first" 2>/dev/null || true
reconciler
while :; do
	st=$(./claimdrift status --format json)
	if grep -q "\"eligible\": $DESIRED," <<<"$st" && grep -q '"in_progress": 0,' <<<"$st"; then
		break
	fi
	sleep 0.2
done
done_at=$(now)
kill -TERM "${pids[1]}"
code=0
wait "${pids[1]}" || code=$?
ready=$(grep -c . < <(ls m) || true)
failed=$(grep -o '"failed": [0-9]*' <<<"$st")
awk -v a="$killed" -v b="$done_at" -v l="$LEASE" -v i="$INTERVAL" -v c="$CREATE_SECONDS" -v r="$ready" -v d="$DESIRED" -v f="$failed" -v x="$code" \
	'BEGIN { printf "lease %s, interval %s, %ss creates: pool of %d whole %.1f s after SIGKILL; %d marker files (none leaked: %s); %s; SIGTERM exit %d\n", l, i, c, d, b - a, r, (r == d ? "yes" : "NO"), f, x }'
