# bashsock: bash loadable builtins for in-shell TCP.
#
# lib/       sockets, ring, runtime directory, helpers: never sees a bash header
# builtins/  the bash-facing layer, one file per command
#
# Targets: all (default), test, demo, install, bench, check-asan,
# check-valgrind, fuzz, format, format-check, lint, clean.

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

LIB_SRC    := $(sort $(wildcard lib/*.c))
BI_SRC     := $(sort $(wildcard builtins/*.c))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
BI_OBJ     := $(BI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

# Builtins whose names are no C identifiers: the struct is renamed in the
# object file (an asm label breaks under ASan).
HYPHENATED := bind-input bind-output trigger-wait trigger-send
REDEFINE   := $(foreach n,$(HYPHENATED),--redefine-sym $(subst -,_,$(n))_struct=$(n)_struct)

all: bashsock.so

bashsock.so: $(LIB_OBJ) $(BI_OBJ)
	$(CC) -shared $(SAN) -Wl,-z,now -Wl,-z,relro -o $@ $^ $(LDLIBS)

# lib/ gets no bash include path at all: a bash header there fails the build.
$(BUILD)/lib/%.o: lib/%.c lib/*.h | $(BUILD)/lib
	$(CC) $(BASE) $(CFLAGS) $(SAN) $(WARN) -Ilib -MMD -c -o $@ $<

$(BUILD)/builtins/%.o: builtins/%.c builtins/*.h lib/*.h | $(BUILD)/builtins
	$(CC) $(BASE) $(CFLAGS) $(SAN) $(WARN) -Ilib -Ibuiltins $(BASH_INC) -c -o $@ $<
	objcopy $(REDEFINE) $@

$(BUILD)/lib $(BUILD)/builtins $(BUILD)/unit:
	mkdir -p $@

# Unit tests of lib/, always under ASan and UBSan.
UNIT_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
$(BUILD)/unit/%: tests/unit/%.c $(LIB_SRC) lib/*.h | $(BUILD)/unit
	$(CC) $(BASE) -O1 -g $(UNIT_SAN) $(WARN) -Ilib -o $@ $< $(LIB_SRC) $(LDLIBS) -lpthread

unit: $(UNIT_BIN)

deps:
	@tools/deps.sh

test: deps
	@$(MAKE) --no-print-directory all unit
	@tools/run-tests.sh $(UNIT_BIN)

demo: all
	@tools/demo.sh

bench: all
	@bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/bash $(DESTDIR)$(PREFIX)/share/bashsock
	install -m 0644 bashsock.so $(DESTDIR)$(PREFIX)/lib/bash/bashsock.so
	sed 's|@SO@|$(PREFIX)/lib/bash/bashsock.so|' loader.sh > $(DESTDIR)$(PREFIX)/share/bashsock/loader.sh
	chmod 0644 $(DESTDIR)$(PREFIX)/share/bashsock/loader.sh

FORMAT_SRC := $(wildcard lib/*.[ch] builtins/*.[ch] tests/unit/*.c bench/*.c tests/fuzz/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf $(BUILD) bashsock.so

.PHONY: all unit deps test demo bench install format format-check clean
-include $(LIB_OBJ:.o=.d)
