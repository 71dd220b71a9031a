#!/usr/bin/env bash
# Runs every fuzz target of the module for DURATION each (default 30000x):
# a duration (30s) or, better on a loaded machine, a count of executions
# (30000x): with a duration, Go 1.26 can report a bare "context deadline
# exceeded" failure at the deadline with no failing input (golang/go#75804).
# every `func FuzzXxx(` in a *_test.go file, one `go test -fuzz` per target
# (go test accepts only one fuzz target per run). Exits non-zero when any
# target fails; the failing input lands in that package's testdata/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-30000x}
go=${GO:-go}

failed=()
count=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Files tracked or not, skipping vendored, hidden and tool directories.
while IFS= read -r file; do
	dir=$(dirname "$file")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		count=$((count + 1))
		start=$SECONDS
		if "$go" test -run='^$' -fuzz="^${target}\$" -fuzztime="$duration" "./$dir" >"$out" 2>&1; then
			printf 'fuzz: ok   %s ./%s (%ds)\n' "$target" "$dir" $((SECONDS - start))
		else
			cat "$out"
			printf 'fuzz: FAIL %s ./%s\n' "$target" "$dir"
			failed+=("$target ./$dir")
		fi
	done
done < <(find . -path ./vendor -prune -o -path './.*' -prune -o -path ./node_modules -prune \
	-o -name testdata -prune \
	-o -name '*_test.go' -type f -print | sed 's|^\./||' | sort)

if [ "$count" -eq 0 ]; then
	echo "fuzz: no fuzz targets found"
	exit 0
fi
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of $count target(s) failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: $count target(s) ok"
