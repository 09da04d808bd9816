#!/usr/bin/env bash
# lint.sh "BASH_INC": shellcheck on the shell code, cppcheck and clang-tidy
# on lib/, helper/ and builtins/ (builtins with bash's headers, passed by
# the Makefile; lib/ and helper/ see none), and the clang-format check.
# Runs them all, then fails if any found something.
set -u
cd "$(dirname "$0")/.." || exit 2
bash_inc=${1:?usage: lint.sh "BASH_INC flags"}
# The C without bash's headers: lib/, and the helper program when present.
shopt -s nullglob
plain_c=(lib/*.c helper/*.c)
shopt -u nullglob
failed=0 passed=0
jobs=$(nproc 2>/dev/null || echo 2)

# step NAME CMD...: runs CMD, counts it.
step() {
	local name=$1 t0=$SECONDS
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok lint $name ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		echo "not ok lint $name ($((SECONDS - t0)) s)"
	fi
}

# tests/helpers/seed_example1.sh is left out: it is the seed's example kept
# byte for byte (tests/bind_input.bats compares it), its style included.
run_shellcheck() {
	shellcheck -x loader.sh.in tools/*.sh tests/test_helper/*.bash \
		tests/helpers/*.bash
}

# bash's headers as plain -I for cppcheck, which has no -isystem.
run_cppcheck() {
	# shellcheck disable=SC2054 # commas inside one option
	local common=(-q --std=c11 -D_GNU_SOURCE --inline-suppr
		--enable=warning,style,portability,performance
		--suppress=missingIncludeSystem --suppress=variableScope
		--error-exitcode=1 -Ilib)
	# shellcheck disable=SC2086 # the flags split into words
	cppcheck "${common[@]}" "${plain_c[@]}" &&
		cppcheck "${common[@]}" -Ibuiltins \
			${bash_inc//-isystem /-I} builtins/*.c
}

# One clang-tidy per file, nproc at a time; .clang-tidy has the checks.
run_clang_tidy() {
	local out=build/lint
	mkdir -p "$out"
	rm -f "$out"/*.tidy
	# shellcheck disable=SC2016
	printf '%s\n' "${plain_c[@]}" | xargs -P "$jobs" -I{} sh -c \
		'clang-tidy --quiet "$1" -- -std=gnu11 -D_GNU_SOURCE -Ilib \
			>"$2/$(basename "$1").tidy" 2>&1 || echo fail >>"$2/failed"' \
		_ {} "$out"
	# shellcheck disable=SC2016
	printf '%s\n' builtins/*.c | xargs -P "$jobs" -I{} sh -c \
		'clang-tidy --quiet "$1" -- -std=gnu11 -D_GNU_SOURCE -Ilib \
			-Ibuiltins $3 >"$2/$(basename "$1").tidy" 2>&1 ||
			echo fail >>"$2/failed"' _ {} "$out" "$bash_inc"
	if [ -e "$out/failed" ]; then
		rm -f "$out/failed"
		grep -h -A4 -E '(warning|error):' "$out"/*.tidy
		return 1
	fi
}

run_format() {
	make --no-print-directory -s format-check
}

step shellcheck run_shellcheck
step cppcheck run_cppcheck
step clang-tidy run_clang_tidy
step clang-format run_format
echo "lint: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
