# vmxlab build. `make` builds the kernel ELF, its listing and symbol map, and a
# hybrid BIOS/UEFI GRUB ISO; `make run` boots it; `make test` runs the host unit
# tests and the boot tests. Objects are listed by hand so a reader sees them all.
# `make V=1` shows every command in full.

CC      := gcc
LD      := ld
OBJDUMP := objdump
PYTHON  := /usr/bin/python3
B       := build

# A Debian console font (package console-setup-linux), drawn by boot/screen.c
# on UEFI framebuffers.
FONT    := /usr/share/consolefonts/Lat15-Terminus16.psf.gz

# The compiler's own freestanding headers (stdint.h, stdarg.h ...). Asked for
# when the first recipe needs it, not when make reads this file: on a fresh
# machine gcc only exists once scripts/deps.sh has run.
GCC_INCLUDE = $(eval GCC_INCLUDE := $$(shell $(CC) -print-file-name=include))$(GCC_INCLUDE)

CFLAGS  = -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-pic \
          -fno-stack-protector -mno-red-zone -mpreferred-stack-boundary=3 \
          -mgeneral-regs-only -mcmodel=small -fno-asynchronous-unwind-tables \
          -fno-builtin -fno-tree-loop-distribute-patterns -nostdinc -isystem $(GCC_INCLUDE)
ASFLAGS := -g -D__ASSEMBLER__
LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack

# Quiet unless V=1: one short line per step.
ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = printf '  %-7s %s\n' $(1) $(2);
endif

BOOT_OBJS := header.o entry.o trap_entry.o main.o cpu.o console.o screen.o psf.o font.o \
             mb.o cmdline.o config.o report.o verdict.o
LIB_OBJS  := printf.o string.o
# hv/, one list per folder (hv/README.md says what each holds).
VMX_OBJS  := caps.o controls.o vmx.o vmcs_fields.o vmcs_build.o vmcs.o check.o breaks.o entry.o \
             exit_stub.o exit_fast.o
MMU_OBJS  := ept.o shadow.o paging.o
EXIT_OBJS := exit.o exit_cr.o cr.o msr.o cpuid.o io.o mmio.o mmio_decode.o trace.o
DEV_OBJS  := dev.o serial.o debug_exit.o fw_cfg.o pic.o pit.o cmos.o pci.o i8042.o shutdown.o \
             lapic.o
RUN_OBJS  := experiments.o experiment.o guest.o elf.o result.o matrix.o multiboot.o mbreq.o text.o \
             mbrun.o

OBJS := $(addprefix $(B)/boot/,$(BOOT_OBJS)) $(addprefix $(B)/lib/,$(LIB_OBJS)) \
        $(addprefix $(B)/hv/vmx/,$(VMX_OBJS)) $(addprefix $(B)/hv/mmu/,$(MMU_OBJS)) \
        $(addprefix $(B)/hv/exit/,$(EXIT_OBJS)) $(addprefix $(B)/hv/dev/,$(DEV_OBJS)) \
        $(addprefix $(B)/hv/run/,$(RUN_OBJS)) $(B)/guest/toggle.o $(B)/guests.o

# The guests: exactly those the table of experiments (hv/run/experiments.c) names
# with `.guest = "NAME"`. Each guest/NAME.c or guest/NAME.S is linked with the
# guest runtime into its own ELF at GUEST_LOAD_GPA (guest/guest.ld), and
# build/guests.S, generated here, embeds them all with a table of their names.
# toggle.o is in the kernel too: the host runs the timed loops natively.
GUESTS     := $(shell sed -n 's/.*\.guest = "\([A-Za-z0-9_]*\)".*/\1/p' hv/run/experiments.c \
                | sort -u)
$(foreach g,$(GUESTS),$(if $(wildcard guest/$(g).c guest/$(g).S),,$(error hv/run/experiments.c \
  names the guest '$(g)', but there is no guest/$(g).c or guest/$(g).S)))
GUEST_RT   := $(B)/guest/rt/start.o $(B)/guest/rt/rt.o $(B)/guest/toggle.o
GUEST_ELFS := $(patsubst %,$(B)/guest/%.elf,$(GUESTS))
.SECONDARY: # keep every intermediate (guest objects, unit-test objects): make would delete them

.PHONY: all mbkernels iso run test unit unit-run debug bench deps deps-run deps-test deps-bench clean \
        guest-sdk fuzz fuzz-build deps-fuzz docs docs-build deps-docs
all: $(B)/vmxlab.iso $(B)/kernel.asm $(B)/kernel.map mbkernels

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(call say,CC,$<)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/%.o: %.S
	@mkdir -p $(dir $@)
	$(Q)$(call say,AS,$<)$(CC) $(CFLAGS) $(ASFLAGS) -MMD -MP -c $< -o $@

# hv/vmx/exit_fast.S takes every number it needs from C (struct vcpu offsets, VMCS
# encodings from hv/vmx/vmcs_fields.h, exit reasons): hv/vmx/asm_offsets.c, compiled to
# assembly only, states each as "->NAME $value", and build/hv/vmx/asm_offsets.h
# gets one #define per line (Linux's asm-offsets).
$(B)/hv/vmx/asm_offsets.h: hv/vmx/asm_offsets.c
	@mkdir -p $(dir $@)
	$(Q)$(call say,GEN,$@)$(CC) $(CFLAGS) -MMD -MP -MT $@ -MF $(B)/hv/vmx/asm_offsets.d -S \
	    -o $(B)/hv/vmx/asm_offsets.s $< && \
	{ echo '// Generated from hv/vmx/asm_offsets.c by the Makefile: do not edit.'; \
	  sed -n 's/.*->\([A-Za-z0-9_]*\) \$$\{0,1\}\(-\{0,1\}[0-9][0-9]*\).*/#define \1 \2/p' \
	      $(B)/hv/vmx/asm_offsets.s; } > $@
$(B)/hv/vmx/exit_fast.o: $(B)/hv/vmx/asm_offsets.h
$(B)/hv/vmx/exit_fast.o: ASFLAGS += -I$(B)/hv/vmx

$(B)/font.psf: $(FONT)
	@mkdir -p $(B)
	$(Q)$(call say,FONT,$<)gzip -dc $< > $@
$(B)/boot/font.o: $(B)/font.psf

$(B)/guest/%.elf: $(B)/guest/%.o $(GUEST_RT) guest/guest.ld
	$(Q)$(call say,LD,$@)$(LD) $(LDFLAGS) -T guest/guest.ld -o $@ $< $(GUEST_RT)

# struct guest_image builtin_guests[] (hv/run/run.h): name, start, end of each ELF, and
# no multiboot request.
$(B)/guests.S: hv/run/experiments.c Makefile
	@mkdir -p $(B)
	$(Q)$(call say,GEN,$@){ \
	  echo '// Generated by the Makefile from hv/run/experiments.c: do not edit.'; \
	  echo '    .section .rodata'; \
	  for g in $(GUESTS); do \
	    printf '    .balign 16\nguest_%s_elf:\n    .incbin "$(B)/guest/%s.elf"\nguest_%s_end:\n' $$g $$g $$g; \
	    printf 'guest_%s_name:\n    .asciz "%s"\n' $$g $$g; \
	  done; \
	  echo '    .balign 8'; \
	  echo '    .globl builtin_guests, nbuiltin_guests'; \
	  echo 'builtin_guests:'; \
	  for g in $(GUESTS); do \
	    printf '    .quad guest_%s_name, guest_%s_elf, guest_%s_end, 0\n' $$g $$g $$g; \
	  done; \
	  echo 'nbuiltin_guests:'; \
	  echo '    .quad $(words $(GUESTS))'; \
	  echo '    .section .note.GNU-stack, "", @progbits'; \
	} > $@
$(B)/guests.o: $(B)/guests.S $(GUEST_ELFS)
	$(Q)$(call say,AS,$<)$(CC) $(CFLAGS) $(ASFLAGS) -c $< -o $@

$(B)/kernel.elf: $(OBJS) linker.ld
	$(Q)$(call say,LD,$@)$(LD) $(LDFLAGS) -T linker.ld -o $@ $(OBJS)

$(B)/kernel.asm: $(B)/kernel.elf
	$(Q)$(call say,OBJDUMP,$@)$(OBJDUMP) -S $< > $@
$(B)/kernel.map: $(B)/kernel.elf
	$(Q)$(call say,NM,$@)nm -n $< > $@

$(B)/vmxlab.iso: $(B)/kernel.elf scripts/grub.cfg scripts/mkiso.sh
	@rm -rf $(B)/iso && mkdir -p $(B)/iso/boot/grub
	@cp $(B)/kernel.elf $(B)/iso/boot/vmxlab.elf
	@cp scripts/grub.cfg $(B)/iso/boot/grub/grub.cfg
	$(Q)$(call say,ISO,$@)scripts/mkiso.sh $@ $(B)/iso

iso: $(B)/vmxlab.iso

# The guest SDK: the runtime's headers, objects and linker script, and an
# example, to build guests outside this tree (guest/sdk/README.md).
SDK := $(B)/guest-sdk
guest-sdk: $(GUEST_RT) guest/guest.ld guest/rt/guest.h guest/abi.h boot/x86.h $(wildcard guest/sdk/*)
	@rm -rf $(SDK) && mkdir -p $(SDK)/include/guest/rt $(SDK)/include/boot $(SDK)/lib
	@cp guest/rt/guest.h $(SDK)/include/guest/rt/
	@cp guest/abi.h $(SDK)/include/guest/
	@cp boot/x86.h $(SDK)/include/boot/
	@cp $(GUEST_RT) $(SDK)/lib/
	@cp guest/guest.ld guest/sdk/Makefile guest/sdk/hello.c guest/sdk/README.md $(SDK)/
	$(Q)$(call say,SDK,$(SDK))true

# The multiboot v1 test kernels (guest/multiboot/README.md), built as kernels for
# `qemu-system-x86_64 -kernel` are built: 64-bit ones linked as ELF64 at 4 MiB and
# converted with `objcopy -O elf32-i386` (QEMU loads only ELF32), prot32 a native ELF32,
# flat.bin a flat image whose header's address fields say where it goes (the a.out
# kludge), with bytes past load_end_addr that no loader may load. The runtime (entry.S,
# traps.S, rt.c, lib/) is compiled once per width, into build/guest/multiboot/64 and 32.
MBK       := guest/multiboot
MBK_B     := $(B)/guest/multiboot
MBK_64    := startup spin chatty leave64
MBK_RT    := entry.o traps.o rt.o printf.o string.o
MBK_ELFS  := $(patsubst %,$(MBK_B)/%.elf,$(MBK_64) prot32) $(MBK_B)/flat.bin
MBK_CFLAGS32 = $(filter-out -mcmodel=small -mno-red-zone -mpreferred-stack-boundary=3,$(CFLAGS)) \
               -m32 -mpreferred-stack-boundary=2
$(MBK_B)/64/%.o: $(MBK)/%.c
	@mkdir -p $(dir $@)
	$(Q)$(call say,CC,$<)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
$(MBK_B)/64/%.o: $(MBK)/%.S
	@mkdir -p $(dir $@)
	$(Q)$(call say,AS,$<)$(CC) $(CFLAGS) $(ASFLAGS) -MMD -MP -c $< -o $@
$(MBK_B)/64/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(Q)$(call say,CC,$<)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
$(MBK_B)/32/%.o: $(MBK)/%.c
	@mkdir -p $(dir $@)
	$(Q)$(call say,CC32,$<)$(CC) $(MBK_CFLAGS32) -MMD -MP -c $< -o $@
$(MBK_B)/32/%.o: $(MBK)/%.S
	@mkdir -p $(dir $@)
	$(Q)$(call say,AS32,$<)$(CC) $(MBK_CFLAGS32) $(ASFLAGS) -MMD -MP -c $< -o $@
$(MBK_B)/32/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(Q)$(call say,CC32,$<)$(CC) $(MBK_CFLAGS32) -MMD -MP -c $< -o $@
$(MBK_B)/64/entry-aout.o: $(MBK)/entry.S
	@mkdir -p $(dir $@)
	$(Q)$(call say,AS,$<)$(CC) $(CFLAGS) $(ASFLAGS) -MMD -MP \
	    -DMB_HEADER_FLAGS='(MB_HDR_MEMINFO | MB_HDR_ADDRS)' -c $< -o $@
$(MBK_B)/%.elf64: $(MBK_B)/64/%.o $(addprefix $(MBK_B)/64/,$(MBK_RT)) $(MBK)/kernel.ld
	$(Q)$(call say,LD,$@)$(LD) $(LDFLAGS) -T $(MBK)/kernel.ld -o $@ $(filter %.o,$^)
$(MBK_B)/leave64.elf64: $(MBK_B)/64/leave64_switch.o
$(MBK_B)/%.elf: $(MBK_B)/%.elf64
	$(Q)$(call say,OBJCOPY,$@)objcopy -O elf32-i386 $< $@
$(MBK_B)/prot32.elf: $(MBK_B)/32/prot32.o $(addprefix $(MBK_B)/32/,$(MBK_RT) div64.o) \
                     $(MBK)/kernel.ld
	$(Q)$(call say,LD,$@)$(LD) -m elf_i386 $(LDFLAGS) -T $(MBK)/kernel.ld -o $@ $(filter %.o,$^)
$(MBK_B)/flat.elf64: $(MBK_B)/64/flat.o $(MBK_B)/64/entry-aout.o \
                     $(addprefix $(MBK_B)/64/,$(filter-out entry.o,$(MBK_RT))) $(MBK)/kernel.ld
	$(Q)$(call say,LD,$@)$(LD) $(LDFLAGS) -T $(MBK)/kernel.ld -o $@ $(filter %.o,$^)
# The image is load_addr .. load_end_addr; 4 KiB of 0xaa follow, which a loader that
# honours load_end_addr leaves behind (flat.c checks that they never arrive).
$(MBK_B)/flat.bin: $(MBK_B)/flat.elf64
	$(Q)$(call say,OBJCOPY,$@)objcopy -O binary $< $@ && \
	    head -c 4096 /dev/zero | tr '\0' '\252' >> $@
mbkernels: $(MBK_ELFS)

ENGINE  ?= auto
CPU     ?=
CMDLINE ?=
TIMEOUT ?=
KEEP    ?=
GUEST   ?=
GUEST_ARGS ?=
GUEST_MODULES ?=
RUN_ARGS = --engine '$(ENGINE)' --cpu '$(CPU)' --cmdline '$(CMDLINE)' \
           $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(filter 1,$(KEEP)),--keep) \
           $(foreach g,$(GUEST),--guest '$(g)') --guest-args '$(GUEST_ARGS)' \
           --guest-modules '$(GUEST_MODULES)'

# deps first, then a make of its own for the build: with -j, prerequisites
# listed side by side would build while the compiler is still being installed.
run: deps-run
	@$(MAKE) --no-print-directory all
	$(PYTHON) scripts/run.py $(RUN_ARGS) $(B)/vmxlab.iso

debug: deps-run
	@$(MAKE) --no-print-directory all
	$(PYTHON) scripts/run.py --debug $(RUN_ARGS) $(B)/vmxlab.iso

# Host unit tests (cmocka): the pure C parts, compiled for the host as they are.
# UNIT_SRCS go into every test; UNIT_EXTRA names what one test needs besides.
UNIT_TESTS := test_printf test_cmdline test_mb test_psf test_verdict test_caps \
              test_controls test_cr test_ept test_result test_vmcs_fields test_elf test_report \
              test_cpuid test_paging test_matrix test_check test_crmodel test_profiles \
              test_screen test_devices test_mmio_decode test_dev test_multiboot test_text
UNIT_SRCS  := lib/printf.c boot/cmdline.c boot/mb.c boot/psf.c boot/verdict.c \
              hv/vmx/caps.c hv/vmx/controls.c hv/vmx/vmcs_fields.c hv/vmx/check.c hv/vmx/breaks.c \
              hv/vmx/vmcs_build.c hv/mmu/ept.c hv/mmu/paging.c hv/exit/cr.c hv/run/elf.c \
              hv/run/matrix.c
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -DHOST_TEST -fsanitize=address,undefined
# Each source is compiled for the host once, into build/unit/obj, and linked
# into every test that needs it.
UNIT_OBJ   := $(B)/unit/obj
unit_objs   = $(patsubst %.c,$(UNIT_OBJ)/%.o,$(1))
$(UNIT_OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(call say,CC,$<)$(CC) $(UNIT_CFLAGS) -DFONT_PSF='"$(B)/font.psf"' -MMD -MP -c $< -o $@
$(UNIT_OBJ)/tests/unit/test_psf.o: $(B)/font.psf
# result.c calls exit.c's exit_reason_name() and the counters' helpers, and
# exit.c refers to kernel-only functions that tests/unit/test_result.c stubs:
# so those link into it alone. UNIT_EXTRA names what one test needs besides.
# DEV_TABLE_SRCS: the devices the kernel links (hv/dev/dev.c's table).
UNIT_EXTRA :=
DEV_SRCS := hv/dev/fw_cfg.c hv/dev/pic.c hv/dev/pit.c hv/dev/cmos.c hv/dev/pci.c \
            hv/dev/i8042.c hv/dev/shutdown.c hv/dev/lapic.c
DEV_TABLE_SRCS := hv/dev/dev.c hv/dev/serial.c hv/dev/debug_exit.c $(DEV_SRCS)
TEST_RESULT_SRCS := hv/run/result.c hv/exit/exit.c hv/exit/exit_cr.c hv/exit/msr.c hv/exit/io.c \
                    hv/exit/mmio.c hv/exit/mmio_decode.c hv/exit/cpuid.c hv/exit/trace.c \
                    hv/mmu/shadow.c hv/run/text.c $(DEV_TABLE_SRCS)
$(B)/unit/test_result: UNIT_EXTRA := $(TEST_RESULT_SRCS)
$(B)/unit/test_result: $(call unit_objs,$(TEST_RESULT_SRCS))
$(B)/unit/test_cpuid: UNIT_EXTRA := hv/exit/cpuid.c
$(B)/unit/test_cpuid: $(call unit_objs,hv/exit/cpuid.c)
$(B)/unit/test_profiles: UNIT_EXTRA := tests/unit/profiles.c
$(B)/unit/test_profiles: $(call unit_objs,tests/unit/profiles.c)
$(B)/unit/test_report: UNIT_EXTRA := boot/report.c
$(B)/unit/test_report: $(call unit_objs,boot/report.c)
$(B)/unit/test_screen: UNIT_EXTRA := boot/screen.c
$(B)/unit/test_screen: $(call unit_objs,boot/screen.c)
$(B)/unit/test_devices: UNIT_EXTRA := $(DEV_SRCS)
$(B)/unit/test_devices: $(call unit_objs,$(DEV_SRCS))
$(B)/unit/test_dev: UNIT_EXTRA := $(DEV_TABLE_SRCS)
$(B)/unit/test_dev: $(call unit_objs,$(DEV_TABLE_SRCS))
$(B)/unit/test_mmio_decode: UNIT_EXTRA := hv/exit/mmio_decode.c
$(B)/unit/test_mmio_decode: $(call unit_objs,hv/exit/mmio_decode.c)
$(B)/unit/test_text: UNIT_EXTRA := hv/run/text.c
$(B)/unit/test_text: $(call unit_objs,hv/run/text.c)
$(B)/unit/test_multiboot: UNIT_EXTRA := hv/run/multiboot.c hv/run/mbreq.c
$(B)/unit/test_multiboot: $(call unit_objs,hv/run/multiboot.c hv/run/mbreq.c)
$(B)/unit/%: $(UNIT_OBJ)/tests/unit/%.o $(call unit_objs,$(UNIT_SRCS))
	@mkdir -p $(dir $@)
	$(Q)$(call say,LD,$@)$(CC) $(UNIT_CFLAGS) -o $@ $< $(call unit_objs,$(UNIT_SRCS) $(UNIT_EXTRA)) \
	    -lcmocka

# Host programs the boot tests drive: the multiboot loader on its own
# (tests/boot/mbv1_load.c, tests/boot/test_mbload.py).
TEST_TOOLS := $(B)/tests/mbv1_load
$(B)/tests/mbv1_load: $(call unit_objs,tests/boot/mbv1_load.c hv/run/multiboot.c lib/printf.c)
	@mkdir -p $(dir $@)
	$(Q)$(call say,LD,$@)$(CC) $(UNIT_CFLAGS) -o $@ $^

unit: deps-test
	@$(MAKE) --no-print-directory unit-run
unit-run: $(addprefix $(B)/unit/,$(UNIT_TESTS)) $(TEST_TOOLS)
	@set -e; for t in $(UNIT_TESTS); do $(B)/unit/$$t; done

# libFuzzer harnesses (tests/fuzz), one per parser of outside input, built by
# clang from the kernel's own sources with AddressSanitizer and UBSan, as the
# unit tests are. FUZZ_SRCS names what a harness needs besides lib/printf.c.
# `make fuzz` runs each for FUZZ_SECONDS from its corpus in tests/fuzz/corpus;
# `make test` for FUZZ_TEST_SECONDS. What they find goes under build/fuzz.
FUZZ_TARGETS      := mb2 mb1 cmdline elf caps mbv1
FUZZ_SECONDS      ?= 60
FUZZ_TEST_SECONDS ?= 3
FUZZ_CC     := clang
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -DHOST_TEST \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(B)/fuzz/fuzz_mb2 $(B)/fuzz/fuzz_mb1: FUZZ_SRCS := boot/mb.c
$(B)/fuzz/fuzz_mb2 $(B)/fuzz/fuzz_mb1: boot/mb.c
$(B)/fuzz/fuzz_cmdline: FUZZ_SRCS := boot/cmdline.c boot/config.c
$(B)/fuzz/fuzz_cmdline: boot/cmdline.c boot/config.c
$(B)/fuzz/fuzz_elf: FUZZ_SRCS := hv/run/elf.c
$(B)/fuzz/fuzz_elf: hv/run/elf.c
$(B)/fuzz/fuzz_caps: FUZZ_SRCS := hv/vmx/caps.c hv/vmx/controls.c hv/exit/cr.c
$(B)/fuzz/fuzz_caps: hv/vmx/caps.c hv/vmx/controls.c hv/exit/cr.c
$(B)/fuzz/fuzz_mbv1: FUZZ_SRCS := hv/run/multiboot.c
$(B)/fuzz/fuzz_mbv1: hv/run/multiboot.c hv/run/multiboot.h
$(B)/fuzz/%: tests/fuzz/%.c lib/printf.c $(wildcard */*.h hv/*/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(call say,CC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< lib/printf.c $(FUZZ_SRCS)

fuzz-build: $(addprefix $(B)/fuzz/fuzz_,$(FUZZ_TARGETS))
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@scripts/fuzz.sh fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The README's test command. pytest runs last so its summary ends the output:
# the boot tests, then the doc tests (tests/docs: every command in README.md and
# docs/, the diagrams, the bench data). --dist loadgroup keeps the blocks of one
# Markdown file in order on one worker; the rest spreads over both.
test: deps-test
	@$(MAKE) --no-print-directory -j2 all unit-run fuzz-build
	@scripts/fuzz.sh test $(FUZZ_TEST_SECONDS) $(FUZZ_TARGETS)
	$(PYTHON) -m pytest -n 2 --dist loadgroup tests/boot tests/docs

# A benchmark, not a test: exact Bochs tick counts for 10^3..10^6 toggles per
# policy, written to build/bench/bench.csv and bench.png, targets checked.
bench: deps-bench
	@$(MAKE) --no-print-directory all
	$(PYTHON) scripts/bench.py

# Diagrams, from text sources only: every docs/diagrams/NAME.dot (graphviz)
# and NAME.gp (gnuplot) becomes DOCS_IMG/NAME.svg. The SVGs in docs/img are
# committed, so the README shows them on a forge; tests/docs/test_diagrams.py
# renders them again into a temporary DOCS_IMG and wants the same bytes. A .gp
# script finds the SVG terminal set and its output open (it may set its own
# size); it reads its data (docs/data) from the repository root.
DOCS_IMG ?= docs/img
DIAGRAMS := $(sort $(patsubst docs/diagrams/%,$(DOCS_IMG)/%.svg, \
              $(basename $(wildcard docs/diagrams/*.dot docs/diagrams/*.gp))))
DOCS_FONT := DejaVu Sans
$(DOCS_IMG)/%.svg: docs/diagrams/%.dot
	@mkdir -p $(dir $@)
	$(Q)$(call say,DOT,$<)dot -Tsvg -Gfontname='$(DOCS_FONT)' -Nfontname='$(DOCS_FONT)' \
	    -Efontname='$(DOCS_FONT)' -o $@.tmp $< && mv $@.tmp $@ || { rm -f $@.tmp; false; }
$(DOCS_IMG)/%.svg: docs/diagrams/%.gp $(wildcard docs/data/*)
	@mkdir -p $(dir $@)
	$(Q)$(call say,GNUPLOT,$<)gnuplot -e "set terminal svg size 800,450 font '$(DOCS_FONT),12'; \
	    set output '$@.tmp'" $< && mv $@.tmp $@ || { rm -f $@.tmp; false; }

docs: deps-docs
	@$(MAKE) --no-print-directory docs-build
docs-build: $(DIAGRAMS)

deps-bench:
	@scripts/deps.sh bench
deps-docs:
	@scripts/deps.sh docs
deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test
deps-fuzz:
	@scripts/deps.sh fuzz
deps:
	@scripts/deps.sh all

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
