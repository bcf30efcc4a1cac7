# promptbandit - plain Makefile.  User CFLAGS/LDFLAGS are respected; the
# project's own flags (C11, POSIX, warnings as errors) are added apart.

VERSION = 0.1.0
PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
MANDIR  = $(PREFIX)/share/man
CC      = cc
CFLAGS  = -O2 -g
LDFLAGS =
PKG_CONFIG = pkg-config
O       = build

# Lazy, so the pkg-config calls run after `deps` has installed the packages.
PB_CFLAGS  = -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow \
             -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers -Wno-format-truncation \
             $$($(PKG_CONFIG) --cflags libcurl libcjson)
LIBS       = $$($(PKG_CONFIG) --libs libcurl libcjson) -lm
MHD_CFLAGS = $$($(PKG_CONFIG) --cflags libmicrohttpd)
MHD_LIBS   = $$($(PKG_CONFIG) --libs libmicrohttpd)

TOOLS = pb-sample pb-query pb-score pb-update pb-report pb-sim
LIBSRC = $(wildcard lib/*.c)
LIBOBJ = $(LIBSRC:lib/%.c=$(O)/lib/%.o)
UNITSRC = $(wildcard tests/unit/*.c)
UNITS = $(UNITSRC:tests/unit/%.c=$(O)/tests/%.t)
MAN1 = $(TOOLS:%=man/%.1)
MAN = $(MAN1) man/pb.7 man/pb-state.5

# The builds of make check run two compilers at once, as its prove runs
# two tests (JOBS= for one at a time).
JOBS = -j2

SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Helpers the shell tests run, built with the tools (not tests themselves).
HELPERS = $(O)/tests/killafter

all: $(TOOLS:%=$(O)/%) $(UNITS) $(HELPERS)

# -MMD: each object's headers go in a .d file beside it, so an edit to one
# layer's header rebuilds what includes it and nothing else.
$(O)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PB_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/cmd/%.o: cmd/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PB_CFLAGS) -MMD -MP -c -o $@ $<

-include $(wildcard $(O)/lib/*.d $(O)/cmd/*.d)

$(O)/libpb.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

$(O)/pb-%: $(O)/cmd/pb-%.o $(O)/cmd/util.o $(O)/libpb.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/cmd/util.o $(O)/libpb.a $(LIBS)

# pb-report is one tool in several files: pb-report.c dispatches on the
# mode, report-*.c hold the modes, behind cmd/report.h.
REPORTOBJ = $(patsubst cmd/%.c,$(O)/cmd/%.o,$(wildcard cmd/report-*.c))

$(O)/pb-report: $(O)/cmd/pb-report.o $(REPORTOBJ) $(O)/cmd/util.o $(O)/libpb.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(O)/cmd/pb-report.o $(REPORTOBJ) $(O)/cmd/util.o $(O)/libpb.a $(LIBS)

# pb-sim is no part of libpb.a: the simulator lives in sim/ (as curl keeps
# its test servers in tests/server/), over the base layer alone, and only
# its objects see libmicrohttpd's flags.  Its unit tests and fuzz target
# link sim/ too.
SIMOBJ = $(patsubst sim/%.c,$(O)/sim/%.o,$(filter-out sim/pb-sim.c,$(wildcard sim/*.c)))

$(O)/sim/%.o: sim/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PB_CFLAGS) $(MHD_CFLAGS) -MMD -MP -c -o $@ $<

-include $(wildcard $(O)/sim/*.d)

$(O)/pb-sim: $(O)/sim/pb-sim.o $(SIMOBJ) $(O)/cmd/util.o $(O)/libpb.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(O)/sim/pb-sim.o $(SIMOBJ) $(O)/cmd/util.o $(O)/libpb.a $(MHD_LIBS) $(LIBS)

SIMUNITS = $(O)/tests/sim.t $(O)/tests/simread.t

$(SIMUNITS): $(O)/tests/%.t: tests/unit/%.c $(wildcard tests/unit/*.h lib/*.h sim/*.h) $(SIMOBJ) $(O)/libpb.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PB_CFLAGS) -o $@ $< $(SIMOBJ) $(O)/libpb.a $(LIBS)

$(O)/fuzz/sim: tests/fuzz/sim.c tests/fuzz/fuzz.h $(wildcard lib/*.h sim/*.h) $(SIMOBJ) $(O)/libpb.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PB_CFLAGS) -fsanitize=fuzzer -o $@ $< $(SIMOBJ) $(O)/libpb.a $(LIBS)

$(O)/tests/%.t: tests/unit/%.c $(wildcard tests/unit/*.h lib/*.h) $(O)/libpb.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PB_CFLAGS) -o $@ $< $(O)/libpb.a $(LIBS)

$(O)/tests/killafter: tests/killafter.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PB_CFLAGS) $(LDFLAGS) -o $@ $<

# ---------------------------------------------------------------------
# deps: install what pkg-config or command -v cannot find (Debian 12).
deps:
	@sh tests/deps.sh

# check: the whole suite, then again built with ASan and UBSan.
check: deps
	@$(MAKE) --no-print-directory $(JOBS) all
	@$(MAKE) --no-print-directory shape
	PB_BIN=$(O) prove -j2 tests/ $(O)/tests/
	@$(MAKE) --no-print-directory $(JOBS) O=build-san CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  PB_BIN=build-san PB_SAN=1 prove -j2 tests/ build-san/tests/
	@sh tests/fuzz/run.sh -q 3
	@$(MAKE) --no-print-directory lint

# stress: the long modes of the reliability tests (PB_STRESS=1: 20+5
# repetitions of 8 writers, 1,000 kills, 5,000 requests through faults)
# and the end-to-end loop under valgrind's memcheck (tests/stress/).
STRESS = $(wildcard tests/08[5-8]0-*.t) tests/stress/
stress: deps
	@$(MAKE) --no-print-directory all
	PB_STRESS=1 PB_BIN=$(O) prove -v --timer $(STRESS)

# shape: the library's layers (arrows point down, no circle, read from the
# objects' symbols) and the size of files and functions.
shape:
	@sh tests/layers.sh $(O)
	@sh tests/sizes.sh

lint:
	@if command -v mandoc >/dev/null; then \
	  out=$$(mandoc -Tlint -W warning $(MAN) 2>&1); \
	  if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	  echo "mandoc -Tlint: $(MAN) clean"; fi

# fuzz: the libFuzzer targets of tests/fuzz/, built with clang (installed
# by tests/fuzz/deps.sh, for this target only), each run FUZZ_SECONDS.
FUZZ_SECONDS = 60

fuzz: deps
	@sh tests/fuzz/deps.sh
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

$(O)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(wildcard lib/*.h) $(O)/libpb.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PB_CFLAGS) -fsanitize=fuzzer -o $@ $< $(O)/libpb.a $(LIBS)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh examples/demo.sh $(O)

bench: deps
	@$(MAKE) --no-print-directory all
	@sh tests/bench.sh $(O)
	@sh tests/bench/mc.sh $(O)
	@sh tests/bench/scale.sh $(O)

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	         $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	for t in $(TOOLS); do install -m0755 $(O)/$$t $(DESTDIR)$(BINDIR)/$$t; done
	for m in $(MAN1); do install -m0644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	install -m0644 man/pb-state.5 $(DESTDIR)$(MANDIR)/man5/
	install -m0644 man/pb.7 $(DESTDIR)$(MANDIR)/man7/

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	for m in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	rm -f $(DESTDIR)$(MANDIR)/man5/pb-state.5 $(DESTDIR)$(MANDIR)/man7/pb.7

clean:
	rm -rf build build-san build-fuzz

.PHONY: all deps check shape stress lint fuzz demo bench install uninstall clean
