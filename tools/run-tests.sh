#!/usr/bin/env bash
# run-tests.sh UNIT_BIN...: runs the C unit tests, then the bats suite, and
# ends with the one line CI reads: "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2
passed=0 failed=0
for t in "$@"; do
	if "$t" >"build/$(basename "$t").log" 2>&1; then
		passed=$((passed + 1))
		echo "ok unit $(basename "$t")"
	else
		failed=$((failed + 1))
		echo "not ok unit $(basename "$t")"
		sed 's/^/# /' "build/$(basename "$t").log"
	fi
done
files=(tests/*.bats)
[ -n "${BATS_FILES:-}" ] && read -r -a files <<<"$BATS_FILES"
tap=build/bats.tap
bats --tap "${files[@]}" 2>&1 | tee "$tap"
p=$(grep -c '^ok ' "$tap")
f=$(grep -c '^not ok ' "$tap")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -1)
passed=$((passed + p))
failed=$((failed + f))
# A bats run that died early ran fewer tests than it planned.
if [ -n "$planned" ] && [ $((p + f)) -lt "$planned" ]; then
	failed=$((failed + planned - p - f))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
