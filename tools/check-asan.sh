#!/usr/bin/env bash
# check-asan.sh SO [BATS_FILE...]: runs the bats suite with the ASan+UBSan
# build SO loaded into every bash (LD_PRELOAD of the ASan runtime of
# ASAN_CC, default clang; the loader pointed at SO through BASHSOCK_SO). Fails on any failed test and on any
# sanitizer report, from the shell or from a forked helper (whose stderr is
# /dev/null: reports go to files under the logs directory instead).
#
# Leak detection is off: bash itself is not built with LeakSanitizer in mind
# and leaks by design at exit (its parsed functions, variables, the
# readline state), so every bash of the suite would report; a suppression
# cannot tell bash's leaks from ours, because every allocation made by a
# builtin has bash's frames under it. Leaks of lib/ are caught by the unit
# tests (ASan with LeakSanitizer on), and the builtins' by make
# check-valgrind (definitely-lost blocks allocated from bashsock.so).
set -u
cd "$(dirname "$0")/.." || exit 2
so=$(realpath "${1:?usage: check-asan.sh SO [BATS_FILE...]}") || exit 2
shift
if [ $# -gt 0 ]; then
	files=("$@")
else
	# The stress suite runs 1,000 helpers and a GiB of data: not under
	# ASan (make check-stress runs it against the normal build).
	files=()
	for f in tests/*.bats; do
		[ "$f" = tests/stress.bats ] || files+=("$f")
	done
fi
out=$(dirname "$so")
logs=$out/logs
rm -rf "$logs"
mkdir -p "$logs"
# Helpers of the second user (security.bats) write their reports here too.
chmod 1777 "$logs"

# The runtime of the compiler that built SO (ASAN_CC, default clang).
cc=${ASAN_CC:-clang}
case $cc in
*clang*) libasan=$("$cc" -print-file-name=libclang_rt.asan-x86_64.so) ;;
*) libasan=$("$cc" -print-file-name=libasan.so) ;;
esac
if [ ! -e "$libasan" ]; then
	echo "check-asan: $cc's ASan runtime not found" >&2
	exit 2
fi
# Only bash gets the runtime: some tools hang in ASan's start-up when it is
# preloaded into them (procps' ps does). Every `bash` found in PATH is this
# wrapper, which preloads the runtime and has bash drop LD_PRELOAD from its
# environment first thing (BASH_ENV), so its own children start clean; a
# BASH_ENV the caller had is put back and read after that. It is compiled:
# a script would be run by a shell that reads BASH_ENV itself, and sh
# would drop the exported functions bats uses.
bin=$out/bin
mkdir -p "$bin"
real=$(command -v bash)
cat >"$bin/wrapper.c" <<EOF
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int
main(int argc, char **argv)
{
	const char *env = getenv("BASH_ENV");

	(void)argc;
	setenv("BS_ASAN_BASH_ENV", env != NULL ? env : "", 1);
	setenv("BASH_ENV", "$bin/unpreload.bash", 1);
	setenv("LD_PRELOAD", "$libasan", 1);
	execv("$real", argv);
	perror("$real");
	return 127;
}
EOF
cc -O1 -o "$bin/bash" "$bin/wrapper.c" || exit 2
cat >"$bin/unpreload.bash" <<'EOF'
unset LD_PRELOAD
if [ -n "${BS_ASAN_BASH_ENV-}" ]; then
	BASH_ENV=$BS_ASAN_BASH_ENV
	unset BS_ASAN_BASH_ENV
	# shellcheck source=/dev/null
	. "$BASH_ENV"
else
	unset BASH_ENV BS_ASAN_BASH_ENV
fi
EOF
chmod 0755 "$bin" "$bin/bash"
chmod 0644 "$bin/unpreload.bash"
export PATH="$bin:$PATH"
# tests/test_helper/common.bash puts /usr/bin first, then this again.
export BS_ASAN_BIN=$bin
export BASHSOCK_SO=$so
export ASAN_OPTIONS="detect_leaks=0:log_path=$logs/asan:print_summary=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"

# The helper program the input and output helpers execute: next to SO,
# an ASan build too (statically linked runtime: no LD_PRELOAD, reports go
# to log_path like the shell's).
helper=$out/bashsock-helper
if [ ! -x "$helper" ] || ! grep -q __asan_init "$helper"; then
	echo "check-asan: $helper is missing or not an ASan build" >&2
	exit 2
fi

# The check must check something: a shell under it has libasan and the
# ASan build of the object mapped.
# shellcheck disable=SC2016
if ! bash -c 'source ./loader.sh && maps=$(</proc/$$/maps) &&
	[[ $maps == *"$1"* && $maps == *"$BASHSOCK_SO"* ]]' _ "$(realpath "$libasan")"; then
	echo "check-asan: the ASan build did not load into bash" >&2
	exit 2
fi

# And so must the suite's tests, and the shells they start (common.bash
# sets PATH; a test may start bash by name): a canary runs first.
cat >"$out/canary.bats" <<EOF
bats_require_minimum_version 1.5.0
load '$PWD/tests/test_helper/common'
setup() { bs_setup; }
teardown() { bs_teardown; }
@test "check-asan: tests and the shells they start run under ASan" {
	[[ \$(</proc/\$\$/maps) == *'$(realpath "$libasan")'* ]]
	[[ \$(</proc/\$\$/maps) == *"\$BASHSOCK_SO"* ]]
	run -0 bash -c 'source "\$1" && [[ \$(</proc/\$\$/maps) == *"\$BASHSOCK_SO"* ]]' _ "\$BS_ROOT/loader.sh"
}
@test "check-asan: the bindings' helpers are the ASan build of the helper program" {
	local pid
	bind-input -v pid canary "\$(bs_free_port)"
	[ "\$(readlink "/proc/\$pid/exe")" = '$(realpath "$helper")' ]
}
EOF
files=("$out/canary.bats" "${files[@]}")

if [ ${#files[@]} -eq 0 ]; then
	echo "check-asan: no bats file to run" >&2
	exit 2
fi
# A hung test fails instead of holding the run (ASan is slow: 600 s).
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-600}
tap=$out/bats.tap
bats --tap "${files[@]}" 2>&1 | tee "$tap"
p=$(grep -c '^ok ' "$tap")
f=$(grep -c '^not ok ' "$tap")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -1)
if [ -n "$planned" ] && [ $((p + f)) -lt "$planned" ]; then
	f=$((f + planned - p - f))
fi
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
	echo "check-asan: sanitizer reports:"
	for r in $reports; do
		echo "==== $r"
		cat "$r"
	done
	f=$((f + $(wc -l <<<"$reports")))
fi
echo "asan: $p passed, $f failed"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
