# gptc: one Makefile. `make` builds build/gptc and build/libgptc.a; `make test` installs
# what is missing, builds (also with ASan+UBSan) and runs every test; `make demo`,
# `make bench`. See README.md.
CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -std=c11 -Wall -Wextra -Wno-unused-parameter
INC     := -Iinclude
DEPS    := -MMD -MP
LIBS    := -lmicrohttpd -lpcre2-8 -ljansson -lcurl -ldl -lm -lpthread
OMP     := -fopenmp
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC := $(sort $(wildcard src/core/*.c src/io/*.c src/text/*.c src/kernels/*.c src/kernels/cpu/*.c \
                               src/model/*.c src/train/*.c src/infer/*.c src/tasks/*.c \
                               src/hub/*.c src/serve/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))

B  := build
BA := build/asan

# files built into the library: the server's chat page (scripts/embed.sh)
GEN_SRC  := $(B)/gen/serve_page.c
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o) $(GEN_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
LIBA_OBJ := $(LIB_SRC:%.c=$(BA)/obj/%.o) $(GEN_SRC:%.c=$(BA)/obj/%.o)
CLIA_OBJ := $(CLI_SRC:%.c=$(BA)/obj/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(B)/tests/%)
TESTS_A  := $(TEST_SRC:tests/%.c=$(BA)/tests/%)
# Helper programs of the shell tests (tests/tool_*.c, not run on their own).
TOOLS    := $(foreach d,$(B) $(BA),$(patsubst tests/%.c,$(d)/tests/%,$(wildcard tests/tool_*.c)))

.PHONY: all deps test-deps test test-fast test-llamacpp demo bench clean encodings examples
all: $(B)/gptc $(B)/libgptc.a encodings

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $(INC) $(DEPS) -c $< -o $@
$(BA)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SAN) $(OMP) $(INC) $(DEPS) -c $< -o $@

$(B)/gen/serve_page.c: src/serve/page.html scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $< gptc_serve_page > $@.tmp && mv $@.tmp $@

$(B)/libgptc.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(BA)/libgptc.a: $(LIBA_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/gptc: $(CLI_OBJ) $(B)/libgptc.a
	$(CC) $(OMP) -o $@ $(CLI_OBJ) $(B)/libgptc.a $(LIBS)
$(BA)/gptc: $(CLIA_OBJ) $(BA)/libgptc.a
	$(CC) $(SAN) $(OMP) -o $@ $(CLIA_OBJ) $(BA)/libgptc.a $(LIBS)

$(B)/tests/%: tests/%.c tests/harness.h $(B)/libgptc.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $(INC) -Isrc -o $@ $< $(B)/libgptc.a $(LIBS)
$(BA)/tests/%: tests/%.c tests/harness.h $(BA)/libgptc.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SAN) $(OMP) $(INC) -Isrc -o $@ $< $(BA)/libgptc.a $(LIBS)

$(B)/examples/%: examples/%.c $(B)/libgptc.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $(INC) -o $@ $< $(B)/libgptc.a $(LIBS)
examples: $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))

# Build dependencies (Debian packages), installed when missing.
deps:
	@sh scripts/deps.sh build
# Test references: PyTorch (Debian), tiktoken and gpt-3-encoder (npm, into .deps/node).
test-deps:
	@sh scripts/deps.sh test

# tiktoken's rank files, converted from the npm package into build/share/gptc/encodings.
encodings:
	@sh scripts/encodings.sh $(B)/share/gptc/encodings

test: deps test-deps
	$(MAKE) all examples $(TESTS) $(TESTS_A) $(TOOLS) $(BA)/gptc
	@bash tests/run.sh

# llama.cpp (npm node-llama-cpp's prebuilt CPU build, ~700 MB) scores gptc's GGUF exports:
# kept out of `make test` for its size.
test-llamacpp: deps test-deps
	@sh scripts/deps.sh llama
	$(MAKE) all
	@bash tests/llamacpp.sh; r=$$?; echo "(tests/llamacpp.sh exited $$r)"; exit $$r

demo: deps
	@sh scripts/deps.sh node
	$(MAKE) all
	@bash scripts/demo.sh

bench: deps test-deps
	$(MAKE) all
	@bash bench/run.sh

clean:
	rm -rf $(B)

# the machine's ceiling: sgemm GFLOP/s and memory GB/s (bench/ceiling.c)
$(B)/bench/ceiling: bench/ceiling.c $(B)/libgptc.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $(INC) -Isrc -o $@ $< $(B)/libgptc.a $(LIBS)
# linear layers on F32/BF16/F16 weights, GPT-2 124M shapes (bench/bench_wlinear.c)
$(B)/bench/bench_wlinear: bench/bench_wlinear.c bench/bench_args.h $(B)/libgptc.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $(INC) -Isrc -o $@ $< $(B)/libgptc.a $(LIBS)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(LIBA_OBJ:.o=.d) $(CLIA_OBJ:.o=.d)

# libFuzzer targets (clang, no OpenMP): build/fuzz/fuzz_<name> from tests/fuzz/fuzz_<name>.c,
# linked with the library built once by clang with ASan + UBSan (build/fuzz/libgptc.a).
# Not part of `make test`; their corpora (tests/fuzz/corpus_<name>/) are replayed by the C
# tests. `make fuzz` builds them; `make fuzz-run` runs each for FUZZ_SECONDS (default 120)
# on its corpus, two at a time (FUZZ_JOBS), and prints executions and crashes per target;
# a crash input is kept in tests/fuzz/crashes/<name>/ (see tests/fuzz/run.sh).
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_CFLAGS  := -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
FUZZ_OBJ     := $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o) $(GEN_SRC:%.c=$(B)/fuzz/obj/%.o)
FUZZ_SECONDS ?= 120
FUZZ_JOBS    ?= 2
.PHONY: fuzz fuzz-run
fuzz: $(FUZZ_BIN)
$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(INC) $(DEPS) -c $< -o $@
$(B)/fuzz/libgptc.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_util.h $(B)/fuzz/libgptc.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(INC) -Isrc -o $@ $< $(B)/fuzz/libgptc.a $(LIBS)
fuzz-run: fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) bash tests/fuzz/run.sh $(FUZZ_BIN:$(B)/fuzz/fuzz_%=%)
-include $(FUZZ_OBJ:.o=.d)
