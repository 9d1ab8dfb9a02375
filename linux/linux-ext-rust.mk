################################################################################
#
# Rust support in the kernel (BR2_LINUX_KERNEL_RUST)
#
################################################################################

# Not an extension (nothing in LINUX_EXTENSIONS): linux.mk includes every
# linux/linux-ext-*.mk of a br2-external tree before it defines the
# kernel package, which is the last place where LINUX_KCONFIG_DEPENDENCIES
# can still be extended. Upstream, this belongs in linux/linux.mk.

ifeq ($(BR2_LINUX_KERNEL_RUST),y)

# Without rustc, bindgen and the sources of the Rust core library of the
# same release, the kernel configuration silently drops CONFIG_RUST: they
# must be there before the kernel is configured. Rust on riscv64 needs a
# kernel built with clang, and bindgen needs libclang anyway: the whole
# kernel is built with LLVM (clang, ld.lld and the llvm binutils).
ifeq ($(BR2_LINUX_KERNEL_RUST_TOOLCHAIN_BUILDROOT),y)
# check-package TypoInPackageVariable
LINUX_KCONFIG_DEPENDENCIES += \
	host-clang \
	host-lld \
	host-llvm \
	host-rust-bindgen \
	host-rust-src \
	host-rustc

# check-package TypoInPackageVariable
LINUX_MAKE_FLAGS += \
	LLVM=$(HOST_DIR)/bin/ \
	RUSTC=$(HOST_DIR)/bin/rustc \
	HOSTRUSTC=$(HOST_DIR)/bin/rustc \
	BINDGEN=$(HOST_DIR)/bin/bindgen \
	RUST_LIB_SRC=$(HOST_DIR)/lib/rustlib/src/rust/library

# bindgen loads libclang at run time
# check-package TypoInPackageVariable
LINUX_MAKE_ENV += LIBCLANG_PATH=$(HOST_DIR)/lib

else # BR2_LINUX_KERNEL_RUST_TOOLCHAIN_HOST

LINUX_RUST_HOST_RUSTC = $(call qstrip,$(BR2_LINUX_KERNEL_RUST_HOST_RUSTC))
LINUX_RUST_HOST_BINDGEN = $(call qstrip,$(BR2_LINUX_KERNEL_RUST_HOST_BINDGEN))
LINUX_RUST_HOST_LLVM = $(call qstrip,$(BR2_LINUX_KERNEL_RUST_HOST_LLVM))
# The same clang that the kernel uses, for the check below.
LINUX_RUST_HOST_CLANG = $(strip \
	$(if $(filter %/,$(LINUX_RUST_HOST_LLVM)),$(LINUX_RUST_HOST_LLVM)clang,\
	$(if $(filter -%,$(LINUX_RUST_HOST_LLVM)),clang$(LINUX_RUST_HOST_LLVM),clang)))

# check-package TypoInPackageVariable
LINUX_MAKE_FLAGS += \
	LLVM=$(LINUX_RUST_HOST_LLVM) \
	RUSTC=$(LINUX_RUST_HOST_RUSTC) \
	HOSTRUSTC=$(LINUX_RUST_HOST_RUSTC) \
	BINDGEN=$(LINUX_RUST_HOST_BINDGEN)

# Each tool is named with the option that sets it, before the kernel
# is configured; 'make rustavailable' then checks versions and the
# library sources (RUST_LIB_SRC defaults to rustc's sysroot).
define LINUX_RUST_CHECK_HOST_TOOLCHAIN
	@for tool in "$(LINUX_RUST_HOST_RUSTC) BR2_LINUX_KERNEL_RUST_HOST_RUSTC" \
		"$(LINUX_RUST_HOST_BINDGEN) BR2_LINUX_KERNEL_RUST_HOST_BINDGEN" \
		"$(LINUX_RUST_HOST_CLANG) BR2_LINUX_KERNEL_RUST_HOST_LLVM"; do \
		set -- $$tool; \
		if ! PATH=$(BR_PATH) command -v "$$1" >/dev/null; then \
			echo "Rust toolchain from the build machine: '$$1' not found ($$2)." >&2; \
			exit 1; \
		fi; \
	done
	@sysroot=`PATH=$(BR_PATH) $(LINUX_RUST_HOST_RUSTC) --print sysroot` && \
	if [ ! -d "$$sysroot/lib/rustlib/src/rust/library" ]; then \
		echo "Rust toolchain from the build machine: no Rust library sources in $$sysroot/lib/rustlib/src/rust/library: install the rust-src component of $(LINUX_RUST_HOST_RUSTC)." >&2; \
		exit 1; \
	fi
endef
# check-package TypoInPackageVariable
LINUX_PRE_CONFIGURE_HOOKS += LINUX_RUST_CHECK_HOST_TOOLCHAIN

endif

# The host compilers stay Buildroot's ones: with LLVM=1 the kernel
# would use host-clang, which only has the target's backend. The
# kernel gives $(HOSTCC) to rustc as its linker (-Clinker=$(HOSTCC) in
# rust/Makefile and scripts/Makefile.host), so it must be one word:
# HOSTCC is given once more, the last one wins, as linux.mk does for
# kconfig in LINUX_KCONFIG_OPTS, and the flags that linux.mk adds to
# it go to the kernel's own HOSTCFLAGS and HOSTLDFLAGS, which linux.mk
# does not set.
# check-package TypoInPackageVariable
LINUX_MAKE_FLAGS += \
	HOSTCC="$(HOSTCC_NOCCACHE)" \
	HOSTCXX="$(HOSTCXX_NOCCACHE)" \
	HOSTCFLAGS="$(subst -I/,-isystem /,$(subst -I /,-isystem /,$(HOST_CFLAGS)))" \
	HOSTLDFLAGS="$(HOST_LDFLAGS)"

# linux.mk passes LINUX_CFLAGS as KCFLAGS. clang does not know gcc's
# -Wno-attribute-alias, and the kernel makes unknown warning options
# an error.
# check-package TypoInPackageVariable
LINUX_CFLAGS := $(filter-out -Wno-attribute-alias,$(LINUX_CFLAGS))

# As linux.mk does for HOSTCC, build the kconfig tools without the host
# libraries of $(HOST_DIR).
# check-package TypoInPackageVariable
LINUX_KCONFIG_OPTS += HOSTCFLAGS= HOSTLDFLAGS=

# Upstream, part of LINUX_KCONFIG_FIXUP_CMDS. On arm64, CONFIG_COMPAT
# (in the arch defconfig) brings the 32-bit vDSO, which clang builds
# for arm-linux-gnueabi, while host-llvm only has the AArch64 backend
# (and the build machine's LLVM may lack the ARM one too).
define LINUX_RUST_CONFIG_FIXUP
	$(call KCONFIG_ENABLE_OPT,CONFIG_RUST)
	$(if $(BR2_aarch64),$(call KCONFIG_DISABLE_OPT,CONFIG_COMPAT_VDSO))
endef
# check-package TypoInPackageVariable
LINUX_KCONFIG_FIXUP_CMDS += $(LINUX_RUST_CONFIG_FIXUP)

# CONFIG_RUST depends on a usable toolchain and conflicts with some
# options: stop at the configuration rather than with a kernel whose
# Rust code silently went away.
define LINUX_RUST_CHECK_CONFIG
	@if ! grep -q '^CONFIG_RUST=y$$' $(LINUX_DIR)/.config; then \
		echo "CONFIG_RUST=y is not in the kernel configuration" \
			"(BR2_LINUX_KERNEL_RUST)." >&2; \
		echo "The kernel's Rust toolchain check says:" >&2; \
		$(LINUX_MAKE_ENV) $(BR2_MAKE) $(LINUX_MAKE_FLAGS) -C $(LINUX_DIR) \
			rustavailable >&2 || true; \
		echo "If the toolchain is fine, another kernel option conflicts" \
			"with CONFIG_RUST: see the dependencies of 'Rust support'" \
			"(General setup) in 'make linux-menuconfig'." >&2; \
		exit 1; \
	fi
endef
# check-package TypoInPackageVariable
LINUX_POST_CONFIGURE_HOOKS += LINUX_RUST_CHECK_CONFIG

endif # BR2_LINUX_KERNEL_RUST
