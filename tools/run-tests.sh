#!/usr/bin/env bash
# run-tests.sh UNIT_BIN...: runs the C unit tests, then the bats suite, and
# ends with the one line CI reads: "N passed, N failed, N skipped". A
# skipped test (bats prints "ok N name # skip") is not a pass. Each bats
# test gets BATS_TEST_TIMEOUT seconds (default 300): a hung test fails
# instead of holding the run. Logs and the TAP output go to
# BS_RUN_DIR (default build).
set -u
cd "$(dirname "$0")/.." || exit 2
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
out=${BS_RUN_DIR:-build}
passed=0 failed=0 skipped=0
mkdir -p "$out"
for t in "$@"; do
	if "$t" >"$out/$(basename "$t").log" 2>&1; then
		passed=$((passed + 1))
		echo "ok unit $(basename "$t")"
	else
		failed=$((failed + 1))
		echo "not ok unit $(basename "$t")"
		sed 's/^/# /' "$out/$(basename "$t").log"
	fi
done
files=(tests/*.bats)
[ -n "${BATS_FILES:-}" ] && read -r -a files <<<"$BATS_FILES"
tap=$out/bats.tap
bats --tap "${files[@]}" 2>&1 | tee "$tap"
# "ok N name # skip [reason]" is a skip (bats writes the directive after
# the name); every other "ok" a pass.
s=$(grep -cE '^ok [0-9]+ .* # skip( |$)' "$tap")
p=$(($(grep -c '^ok ' "$tap") - s))
f=$(grep -c '^not ok ' "$tap")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -1)
passed=$((passed + p))
failed=$((failed + f))
skipped=$((skipped + s))
# A bats run that died early ran fewer tests than it planned.
if [ -n "$planned" ] && [ $((p + f + s)) -lt "$planned" ]; then
	failed=$((failed + planned - p - f - s))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
