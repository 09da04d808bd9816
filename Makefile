# bashsock: bash loadable builtins for in-shell TCP.
#
# lib/       sockets, ring, runtime directory, helpers: never sees a bash header
# builtins/  the bash-facing layer, one file per command
# helper/    bashsock-helper, the program the input and output helpers run
#            (built next to the shared object, where bashsock.so looks)
#
# Targets: all (default), test, demo, install, bench, check-asan,
# check-valgrind, check-stress, fuzz, format, format-check, lint, clean.
# CI (.ci/run) runs test, then lint, check-asan, check-valgrind, fuzz and
# check-stress.

PREFIX     ?= /usr/local
DESTDIR    ?=
CC         ?= cc
CFLAGS     ?= -O2 -g
WERROR     ?=
WARN       := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
              -Wmissing-prototypes $(WERROR)
BASE       := -std=gnu11 -fPIC -fvisibility=hidden -D_GNU_SOURCE
LOADABLES  := $(shell pkg-config --variable=loadablesdir bash 2>/dev/null || echo /usr/lib/bash)
# bash's headers go through -isystem so their warnings stay out of ours.
BASH_INC   := $(patsubst -I%,-isystem %,$(filter -I%,$(shell pkg-config --cflags bash 2>/dev/null))) \
              -isystem $(LOADABLES) -DSHELL
LDLIBS     := -lcrypto
BUILD      ?= build
SAN        ?=
# The shared object; sanitizer builds put theirs in their own BUILD.
SO         ?= bashsock.so
# The helper program: next to SO, where bashsock.so looks for it.
HELPER     := $(patsubst ./%,%,$(dir $(SO))bashsock-helper)

LIB_SRC    := $(sort $(wildcard lib/*.c))
BI_SRC     := $(sort $(wildcard builtins/*.c))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
BI_OBJ     := $(BI_SRC:%.c=$(BUILD)/%.o)
# What the helper program links: the two helpers, no libcrypto.
HELPER_OBJ := $(BUILD)/helper/bashsock-helper.o \
              $(patsubst %,$(BUILD)/lib/%.o,input output helper helper_argv \
                  bind net ring rt parse pool_attach)
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

# Builtins whose names are no C identifiers: the struct is renamed in the
# object file (an asm label breaks under ASan).
HYPHENATED := bind-input bind-output trigger-wait trigger-send
REDEFINE   := $(foreach n,$(HYPHENATED),--redefine-sym $(subst -,_,$(n))_struct=$(n)_struct)

all: $(SO) $(HELPER)

$(SO): $(LIB_OBJ) $(BI_OBJ)
	$(CC) -shared $(SAN) -Wl,-z,now -Wl,-z,relro -o $@ $^ $(LDLIBS)

$(HELPER): $(HELPER_OBJ)
	$(CC) $(SAN) -Wl,-z,now -Wl,-z,relro -o $@ $^

# lib/ gets no bash include path at all: a bash header there fails the build.
$(BUILD)/lib/%.o: lib/%.c lib/*.h | $(BUILD)/lib
	$(CC) $(BASE) $(CFLAGS) $(SAN) $(WARN) -Ilib -MMD -c -o $@ $<

$(BUILD)/builtins/%.o: builtins/%.c builtins/*.h lib/*.h | $(BUILD)/builtins
	$(CC) $(BASE) $(CFLAGS) $(SAN) $(WARN) -Ilib -Ibuiltins $(BASH_INC) -c -o $@.tmp $<
	objcopy $(REDEFINE) $@.tmp
	mv $@.tmp $@

# The helper program is lib/'s alone: no bash header either.
$(BUILD)/helper/%.o: helper/%.c lib/*.h | $(BUILD)/helper
	$(CC) $(BASE) $(CFLAGS) $(SAN) $(WARN) -Ilib -MMD -c -o $@ $<

$(BUILD)/lib $(BUILD)/builtins $(BUILD)/helper $(BUILD)/unit:
	mkdir -p $@

# Unit tests of lib/, always under ASan and UBSan.
UNIT_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
$(BUILD)/unit/%: tests/unit/%.c tests/unit/check.h $(LIB_SRC) lib/*.h | $(BUILD)/unit
	$(CC) $(BASE) -O1 -g $(UNIT_SAN) $(WARN) -Ilib -o $@ $< $(LIB_SRC) $(LDLIBS) -lpthread

unit: $(UNIT_BIN)

deps:
	@tools/deps.sh

# The stress suite is left to make check-stress.
TEST_BATS  := $(filter-out tests/stress.bats,$(wildcard tests/*.bats))
test: deps
	@$(MAKE) --no-print-directory all unit
	@BATS_FILES="$${BATS_FILES:-$(TEST_BATS)}" tools/run-tests.sh $(UNIT_BIN)

demo: all
	@tools/demo.sh

bench: all
	@bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/bash $(DESTDIR)$(PREFIX)/share/bashsock
	install -m 0644 bashsock.so $(DESTDIR)$(PREFIX)/lib/bash/bashsock.so
	install -m 0755 bashsock-helper $(DESTDIR)$(PREFIX)/lib/bash/bashsock-helper
	sed 's|@SO@|$(PREFIX)/lib/bash/bashsock.so|' loader.sh > $(DESTDIR)$(PREFIX)/share/bashsock/loader.sh
	chmod 0644 $(DESTDIR)$(PREFIX)/share/bashsock/loader.sh

# --- hardening (issue 7) -------------------------------------------------
# check-asan: the bats suite against an ASan+UBSan build of the object.
# clang, not gcc: gcc's UBSan ignores log_path next to ASan, and a helper's
# stderr is /dev/null, so its reports would be lost.
ASAN_BUILD := build/asan
ASAN_CC    ?= clang
ASAN_SAN   := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
# The helper program is built with them too, next to that object.
check-asan: deps
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) SO=$(ASAN_BUILD)/bashsock.so \
	    CC=$(ASAN_CC) CFLAGS="-O1 -g" SAN="$(ASAN_SAN)" all
	@ASAN_CC=$(ASAN_CC) tools/check-asan.sh $(ASAN_BUILD)/bashsock.so $(ASAN_BATS)

# check-valgrind: a workload of every builtin under valgrind (memcheck).
check-valgrind: deps
	@$(MAKE) --no-print-directory all
	@tools/check-valgrind.sh

# check-stress: the fault and load suite, against the normal build.
check-stress: deps
	@$(MAKE) --no-print-directory all
	@BATS_FILES=tests/stress.bats tools/run-tests.sh

# fuzz: every tests/fuzz/fuzz_NAME.c is a libFuzzer target, run for
# FUZZ_SECS seconds from its seeds in tests/fuzz/corpus/NAME (what it finds
# goes to build/fuzz/corpus/NAME; crashes to build/fuzz/crash/).
FUZZ_CC    ?= clang
FUZZ_SECS  ?= 60
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_BIN   := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
FUZZ_FLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# The lib/ sources each target links (default: all of lib/).
FUZZ_LIB_escape := lib/escape.c
FUZZ_LIB_parse  := lib/parse.c
FUZZ_LIB_ring   := lib/ring.c
FUZZ_LIB_auth   := lib/auth.c lib/helper.c
FUZZ_LIB_pool   := lib/pool.c lib/helper.c
FUZZ_LIB_helper_argv := lib/helper_argv.c lib/parse.c lib/pool_attach.c
FUZZ_LIB_pool_attach := lib/pool_attach.c
.SECONDEXPANSION:
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(or $$(FUZZ_LIB_$$*),$$(LIB_SRC)) lib/*.h
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(WARN) -Ilib -o $@ $< \
	    $(or $(FUZZ_LIB_$*),$(LIB_SRC)) $(LDLIBS) -lpthread

fuzz-build: $(FUZZ_BIN)
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@tools/fuzz.sh $(FUZZ_SECS) $(FUZZ_NAMES)

# lint: shellcheck, cppcheck, clang-tidy and the clang-format check.
lint: deps
	@tools/lint.sh "$(BASH_INC)"

FORMAT_SRC := $(wildcard lib/*.[ch] builtins/*.[ch] helper/*.c tests/unit/*.c bench/*.c tests/fuzz/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf $(BUILD) bashsock.so bashsock-helper

.PHONY: all unit deps test demo bench install format format-check clean \
	check-asan check-valgrind check-stress fuzz fuzz-build lint
-include $(LIB_OBJ:.o=.d) $(BUILD)/helper/bashsock-helper.d
