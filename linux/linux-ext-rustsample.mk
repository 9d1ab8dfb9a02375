################################################################################
#
# Build the rust_sample module in-tree (BR2_LINUX_KERNEL_EXT_RUSTSAMPLE)
#
################################################################################

# Selected by the rustsample package.
LINUX_EXTENSIONS += rustsample

ifeq ($(BR2_LINUX_KERNEL_EXT_RUSTSAMPLE),y)

# The module sources: the package's local site (module/), or what
# RUSTSAMPLE_OVERRIDE_SRCDIR says, not the package's build directory,
# which 'make rustsample-dirclean' removes.
RUSTSAMPLE_KERNEL_SRCDIR = $(call qstrip,$(RUSTSAMPLE_OVERRIDE_SRCDIR))

# Only what the kernel build needs: a module directory used for
# out-of-tree builds may also hold their objects. --delete removes the
# files deleted from the module sources; the kernel's objects, excluded,
# are kept.
define RUSTSAMPLE_SYNC_KERNEL_SOURCES
	mkdir -p $(LINUX_DIR)/drivers/rust_sample
	rsync -a --delete --include='*.rs' --include=Kconfig --include=Kbuild \
		--exclude='*' $(RUSTSAMPLE_KERNEL_SRCDIR)/ \
		$(LINUX_DIR)/drivers/rust_sample/
endef

# Called by linux.mk before the kernel is patched. Hook the module into
# drivers/Kconfig, before its final endmenu, and into drivers/Makefile,
# once.
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

# A kernel taken from a local tree (LINUX_OVERRIDE_SRCDIR) is rsynced
# instead of extracted and patched, and linux.mk prepares extensions
# only before patching: hook the module in after the rsync too.
# check-package TypoInPackageVariable
LINUX_POST_RSYNC_HOOKS += RUSTSAMPLE_PREPARE_KERNEL

# Take the module sources again on each kernel build, so that
# 'make linux-rebuild' builds the edited module.
# check-package TypoInPackageVariable
LINUX_PRE_BUILD_HOOKS += RUSTSAMPLE_SYNC_KERNEL_SOURCES

# CONFIG_RUST_SAMPLE depends on CONFIG_RUST, which linux-ext-rust.mk
# checks: stop at the configuration if it went away anyway.
define RUSTSAMPLE_CHECK_KERNEL_CONFIG
	@if ! grep -Eq '^CONFIG_RUST_SAMPLE=[my]$$' $(LINUX_DIR)/.config; then \
		echo "CONFIG_RUST_SAMPLE is not set in the kernel" \
			"configuration (BR2_PACKAGE_RUSTSAMPLE)." >&2; \
		exit 1; \
	fi
endef
# check-package TypoInPackageVariable
LINUX_POST_CONFIGURE_HOOKS += RUSTSAMPLE_CHECK_KERNEL_CONFIG

endif # BR2_LINUX_KERNEL_EXT_RUSTSAMPLE
