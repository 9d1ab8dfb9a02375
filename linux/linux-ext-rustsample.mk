################################################################################
#
# Build the rust_sample module in-tree, in a kernel with Rust support
#
################################################################################

LINUX_EXTENSIONS += rustsample

ifeq ($(BR2_LINUX_KERNEL_EXT_RUSTSAMPLE),y)

# Only what the kernel build needs: a module directory used for
# out-of-tree builds may also hold their objects.
define RUSTSAMPLE_SYNC_KERNEL_SOURCES
	mkdir -p $(LINUX_DIR)/drivers/rust_sample
	rsync -a --include='*.rs' --include=Kconfig --include=Kbuild \
		--exclude='*' $(RUSTSAMPLE_DIR)/ $(LINUX_DIR)/drivers/rust_sample/
endef

# Called by linux.mk before the kernel is patched, once the rustsample
# package (in LINUX_PATCH_DEPENDENCIES) has its sources in
# $(RUSTSAMPLE_DIR). Hook the module into drivers/Kconfig, before its
# final endmenu, and into drivers/Makefile, once.
define RUSTSAMPLE_PREPARE_KERNEL
	$(RUSTSAMPLE_SYNC_KERNEL_SOURCES)
	if ! grep -q '^source "drivers/rust_sample/Kconfig"$$' \
		$(LINUX_DIR)/drivers/Kconfig; then \
		sed -i '$$s%^endmenu$$%source "drivers/rust_sample/Kconfig"\n\nendmenu%' \
			$(LINUX_DIR)/drivers/Kconfig; \
		grep -q '^source "drivers/rust_sample/Kconfig"$$' \
			$(LINUX_DIR)/drivers/Kconfig || { \
			echo "drivers/Kconfig does not end with endmenu" >&2; \
			exit 1; \
		}; \
	fi
	grep -qxF 'obj-$$(CONFIG_RUST_SAMPLE) += rust_sample/' \
		$(LINUX_DIR)/drivers/Makefile || \
		echo 'obj-$$(CONFIG_RUST_SAMPLE) += rust_sample/' \
			>> $(LINUX_DIR)/drivers/Makefile
endef

# Take the module sources again on each kernel build, so that
# 'make rustsample-rebuild linux-rebuild' builds the edited module.
# check-package TypoInPackageVariable
LINUX_PRE_BUILD_HOOKS += RUSTSAMPLE_SYNC_KERNEL_SOURCES

# Buildroot has no Rust support for the kernel. Without rustc, bindgen
# and the sources of the Rust core library of the same release, the
# kernel configuration silently drops CONFIG_RUST, so they must be
# there before the kernel is configured: LINUX_KCONFIG_DEPENDENCIES,
# which this file, included from linux.mk, can still extend (unlike
# external.mk, read after linux.mk).
# Rust on riscv64 needs a kernel built with clang, and bindgen needs
# libclang anyway: the whole kernel is built with LLVM (clang, ld.lld
# and the llvm binutils), all of it from $(HOST_DIR)/bin.
# check-package TypoInPackageVariable
LINUX_KCONFIG_DEPENDENCIES += \
	host-clang \
	host-lld \
	host-llvm \
	host-rust-bindgen \
	host-rust-src \
	host-rustc

# The host compiler stays Buildroot's one (host-clang only has the
# target's backend), as a single word: rustc is given $(HOSTCC) as its
# linker (-Clinker=$(HOSTCC)), so the flags that linux.mk adds to
# HOSTCC go to HOSTCFLAGS and HOSTLDFLAGS. clang does not know
# -Wno-attribute-alias (added by linux.mk for gcc), and the kernel
# makes unknown warning options an error.
# check-package TypoInPackageVariable
LINUX_MAKE_FLAGS += \
	LLVM=$(HOST_DIR)/bin/ \
	RUSTC=$(HOST_DIR)/bin/rustc \
	HOSTRUSTC=$(HOST_DIR)/bin/rustc \
	BINDGEN=$(HOST_DIR)/bin/bindgen \
	RUST_LIB_SRC=$(HOST_DIR)/lib/rustlib/src/rust/library \
	HOSTCC="$(HOSTCC_NOCCACHE)" \
	HOSTCXX="$(HOSTCXX_NOCCACHE)" \
	HOSTCFLAGS="$(subst -I/,-isystem /,$(subst -I /,-isystem /,$(HOST_CFLAGS)))" \
	HOSTLDFLAGS="$(HOST_LDFLAGS)" \
	KCFLAGS="$(filter-out -Wno-attribute-alias,$(LINUX_CFLAGS))"

# bindgen loads libclang at run time
# check-package TypoInPackageVariable
LINUX_MAKE_ENV += LIBCLANG_PATH=$(HOST_DIR)/lib

# As linux.mk does for HOSTCC, build the kconfig tools without the host
# libraries of $(HOST_DIR).
# check-package TypoInPackageVariable
LINUX_KCONFIG_OPTS += HOSTCFLAGS= HOSTLDFLAGS=

# The kernel drops CONFIG_RUST without a word when its Rust toolchain is
# incomplete, and CONFIG_RUST_SAMPLE with it: stop at the configuration
# rather than with a kernel without the module.
define RUSTSAMPLE_CHECK_KERNEL_CONFIG
	@if ! grep -q '^CONFIG_RUST=y$$' $(LINUX_DIR)/.config; then \
		echo "rust_sample: CONFIG_RUST=y is not in the kernel configuration." >&2; \
		echo "rust_sample: the kernel's Rust toolchain check says:" >&2; \
		$(LINUX_MAKE_ENV) $(BR2_MAKE) $(LINUX_MAKE_FLAGS) -C $(LINUX_DIR) \
			rustavailable >&2 || true; \
		echo "rust_sample: if the toolchain is fine, another kernel option" \
			"conflicts with CONFIG_RUST: see its dependencies in" \
			"'make linux-menuconfig' (General setup, Rust support)." >&2; \
		exit 1; \
	fi
	@if ! grep -Eq '^CONFIG_RUST_SAMPLE=[my]$$' $(LINUX_DIR)/.config; then \
		echo "rust_sample: CONFIG_RUST_SAMPLE is not set in the kernel" \
			"configuration, although CONFIG_RUST=y." >&2; \
		exit 1; \
	fi
endef
# check-package TypoInPackageVariable
LINUX_POST_CONFIGURE_HOOKS += RUSTSAMPLE_CHECK_KERNEL_CONFIG

endif # BR2_LINUX_KERNEL_EXT_RUSTSAMPLE
