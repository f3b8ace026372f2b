# banger: every entry point a user needs. Each target sets the machine up first
# (missing Debian packages, CMake + Ninja configure), so one command suffices on
# a fresh Debian 12 machine.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=
JOBS       ?= $(shell nproc)
# `make fuzz`: a separate clang build, each target for FUZZ_SECONDS, one at a
# time; `make fuzz-merge` adds what those runs found to tests/fuzz/corpus/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60

export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_DIR ?= $(HOME)/.cache/ccache
# Paths under the checkout are hashed relative to the build directory, so a
# second clone (CI, a worktree) reuses the first one's compilations.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1

.PHONY: all deps configure build test demo demo-cluster bench chaos format clean install fuzz fuzz-merge

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/build.ninja: | deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS) >/dev/null

configure: $(BUILD)/build.ninja

build: deps configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

fuzz:
	@tools/install-deps.sh fuzz
	@JOBS=$(JOBS) tools/fuzz.sh run $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-merge:
	@tools/install-deps.sh fuzz
	@JOBS=$(JOBS) tools/fuzz.sh merge $(FUZZ_BUILD)

demo: build
	@tools/demo.sh $(BUILD)/bin

# Three hosts in network namespaces, one cluster (tools/demo-cluster.sh).
demo-cluster: build
	@tools/demo-cluster.sh $(BUILD)/bin

bench: build
	@tools/bench.sh $(BUILD)/bin

# SIGKILLs bangerd and banger-helper under load and checks what survived
# (tools/chaos.sh; CHAOS_* variables scale it). A stress run, not a test.
chaos: build
	@tools/chaos.sh $(BUILD)/bin

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

install: build
	@tools/install.sh $(BUILD)/bin

clean:
	@rm -rf $(BUILD) $(FUZZ_BUILD)
