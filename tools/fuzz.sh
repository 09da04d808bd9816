#!/usr/bin/env bash
# fuzz.sh SECS NAME...: runs each libFuzzer target build/fuzz/fuzz_NAME for
# SECS seconds, starting from its seeds in tests/fuzz/corpus/NAME (every seed
# is run first, so the seeds are also the regression inputs). New inputs go
# to build/fuzz/corpus/NAME, crashes to build/fuzz/crash/NAME-*: turn each
# into a seed file (or a unit test) once fixed. Fails when any target fails.
set -u
cd "$(dirname "$0")/.." || exit 2
secs=${1:?usage: fuzz.sh SECS NAME...}
shift
passed=0 failed=0
mkdir -p build/fuzz/crash
for name in "$@"; do
	bin=build/fuzz/fuzz_$name
	seeds=tests/fuzz/corpus/$name
	work=build/fuzz/corpus/$name
	mkdir -p "$work" "$seeds"
	log=build/fuzz/$name.log
	start=$SECONDS
	# -timeout: one input taking over 10 s is a hang, and fails.
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="build/fuzz/crash/$name-" \
		"$work" "$seeds" >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "ok fuzz $name: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" |
			grep -o '[0-9]*$') runs in $((SECONDS - start)) s," \
			"corpus $(find "$work" -type f | wc -l) inputs"
	else
		failed=$((failed + 1))
		echo "not ok fuzz $name"
		grep -v '^#[0-9]' "$log" | tail -40 | sed 's/^/# /'
		find build/fuzz/crash -name "$name-*" | sed 's/^/# artifact: /'
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
