################################################################################
#
# Checks of the kernel configuration of this tree's boards
#
################################################################################

# Not an extension either (see linux-ext-rust.mk). The kernel
# configuration silently drops a fragment option it does not know, or
# whose dependencies are not met, and a device tree missing from the
# kernel version only shows up once the kernel is built: for the
# kernels configured with a fragment of this tree (board/*/), stop
# right after the configuration instead.

# linux.mk is parsed while BR2_EXTERNAL_RUSTSAMPLE_PATH still has the
# quotes of .config.
RUSTSAMPLE_BOARDS_FRAGMENTS = \
	$(filter $(call qstrip,$(BR2_EXTERNAL_RUSTSAMPLE_PATH))/board/%,\
		$(LINUX_KCONFIG_FRAGMENT_FILES))

ifneq ($(RUSTSAMPLE_BOARDS_FRAGMENTS),)

# Each CONFIG_FOO=value and "# CONFIG_FOO is not set" line must be in
# the final .config; =m is also met by =y.
define RUSTSAMPLE_BOARDS_CHECK_FRAGMENTS
	$(Q)sed -n 's/^\(# \)\{0,1\}\(CONFIG_[A-Za-z0-9_]*\)\(=.*\| is not set\)$$/\2\3/p' \
		$(RUSTSAMPLE_BOARDS_FRAGMENTS) | { \
	bad=; \
	while IFS= read -r line; do \
		name="$${line%%[= ]*}"; \
		case "$${line}" in \
		*" is not set") want=n ;; \
		*) want="$${line#*=}" ;; \
		esac; \
		have="$$(sed -n "s/^$${name}=//p" $(LINUX_DIR)/.config)"; \
		[ -n "$${have}" ] || have=n; \
		[ "$${have}" = "$${want}" ] && continue; \
		[ "$${want}" = m ] && [ "$${have}" = y ] && continue; \
		echo "$${name}: $${want} in the board fragment, $${have} in the kernel configuration" >&2; \
		bad=1; \
	done; \
	if [ -n "$${bad}" ]; then \
		echo "Options of $(RUSTSAMPLE_BOARDS_FRAGMENTS) did not make it into" \
			"the kernel configuration: unknown to Linux $(LINUX_VERSION)," \
			"or with unmet dependencies (see 'make linux-menuconfig')." >&2; \
		exit 1; \
	fi; }
endef
# check-package TypoInPackageVariable
LINUX_POST_CONFIGURE_HOOKS += RUSTSAMPLE_BOARDS_CHECK_FRAGMENTS

# BR2_LINUX_KERNEL_INTREE_DTS_NAME: the sources must be in this kernel
# version.
define RUSTSAMPLE_BOARDS_CHECK_DTS
	$(Q)for dts in $(call qstrip,$(BR2_LINUX_KERNEL_INTREE_DTS_NAME)); do \
		if [ ! -f $(LINUX_ARCH_PATH)/boot/dts/$${dts}.dts ]; then \
			echo "$${dts}.dts (BR2_LINUX_KERNEL_INTREE_DTS_NAME) is not in" \
				"Linux $(LINUX_VERSION)" >&2; \
			exit 1; \
		fi; \
	done
endef
# check-package TypoInPackageVariable
LINUX_POST_CONFIGURE_HOOKS += RUSTSAMPLE_BOARDS_CHECK_DTS

endif
