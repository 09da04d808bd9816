#!/usr/bin/env bash
# check-valgrind.sh: runs tools/valgrind-workload.sh in a bash under
# valgrind's memcheck with bashsock.so loaded. Fails when the workload
# fails, or when any process valgrind followed reports an error: invalid
# reads and writes, uninitialised values, bad frees or syscall arguments, or
# a definitely lost block allocated by bashsock.
#
# bash itself loses blocks for good in subshells (getopt state, traps), so a
# definitely lost block counts only when a frame of its allocation is in
# lib/ or builtins/; every other kind of error counts wherever it is.
#
# Forked processes (subshells, the pool's helper) are followed too, each
# with its own log file (--log-file=...%p): that keeps them out of the
# shell's output as --child-silent-after-fork=yes would, without leaving
# them unchecked. Of the exec'd programs only the helper program
# (bashsock-helper, which the input and output helpers execute) is traced:
# the system's (python3, ss, sleep, bash itself) are skipped by path.
set -u
cd "$(dirname "$0")/.." || exit 2
out=build/valgrind
rm -rf "$out"
mkdir -p "$out"
so=${BASHSOCK_SO:-$PWD/bashsock.so}
if [ ! -r "$so" ]; then
	echo "check-valgrind: $so not built" >&2
	exit 2
fi
export BASHSOCK_SO=$so

start=$SECONDS
timeout -k 10 600 valgrind --tool=memcheck --log-file="$out/vg.%p.log" \
	--child-silent-after-fork=no --trace-children=yes \
	--trace-children-skip='/usr/*,/bin/*,/sbin/*,/lib/*,/lib64/*' \
	--leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=none --track-origins=yes --fullpath-after= \
	--error-exitcode=99 \
	bash tools/valgrind-workload.sh >"$out/workload.out" 2>&1
rc=$?
cat "$out/workload.out"

# ours LOG: the definitely lost records of LOG with a frame in our sources.
ours() {
	awk -v root="$PWD/" '
	/definitely lost in loss record/ { rec = $0; keep = 0; inrec = 1; next }
	inrec && /^==[0-9]+== *$/ { if (keep) print rec; inrec = 0; next }
	inrec && (index($0, root "lib/") || index($0, root "builtins/") ||
		index($0, root "helper/")) {
		keep = 1
	}' "$1"
}

bad=0
logs=0
helpers=0
for f in "$out"/vg.*.log; do
	[ -e "$f" ] || continue
	# Exec'd children leave a log without a summary: nothing was checked.
	grep -q 'ERROR SUMMARY' "$f" || continue
	logs=$((logs + 1))
	grep -q '^==[0-9]*== Command: [^ ]*/bashsock-helper ' "$f" &&
		helpers=$((helpers + 1))
	if ! grep -q 'ERROR SUMMARY: 0 errors' "$f" || [ -n "$(ours "$f")" ]; then
		bad=$((bad + 1))
		echo "==== $f"
		cat "$f"
	fi
done
echo "check-valgrind: $logs processes checked ($helpers of them the helper" \
	"program) in $((SECONDS - start)) s, $bad with errors; workload exit $rc"
# The helpers must have been checked too: none means the helper program
# was not traced (missing next to the object, or skipped by path).
if [ "$helpers" -eq 0 ]; then
	echo "check-valgrind: no helper program was traced" >&2
fi
if [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$helpers" -gt 0 ]; then
	echo "valgrind: 1 passed, 0 failed"
	exit 0
fi
echo "valgrind: 0 passed, 1 failed"
exit 1
