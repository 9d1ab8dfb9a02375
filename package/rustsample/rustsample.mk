################################################################################
#
# rustsample
#
################################################################################

# The module is not built here: the rustsample Linux extension
# (linux/linux-ext-rustsample.mk) copies its sources into the kernel
# tree as drivers/rust_sample, so that CONFIG_RUST_SAMPLE is a real
# kernel symbol and the kernel builds and installs rust_sample.ko
# itself, with the same Rust toolchain as its own Rust code. Building
# it once more out-of-tree with the kernel-module infrastructure would
# install a second rust_sample.ko (in updates/), and would make this
# package depend on linux, while the kernel needs these sources before
# it is even configured.
# The version of the module sources, as in the Yocto layer's recipe.
RUSTSAMPLE_VERSION = 0.1
RUSTSAMPLE_SITE = $(BR2_EXTERNAL_RUSTSAMPLE_PATH)/module
RUSTSAMPLE_SITE_METHOD = local
RUSTSAMPLE_LICENSE = GPL-2.0
RUSTSAMPLE_LICENSE_FILES = COPYING

# module/ only has SPDX lines: take the project's license text along,
# for legal-info.
define RUSTSAMPLE_COPY_LICENSE
	$(INSTALL) -m 0644 $(BR2_EXTERNAL_RUSTSAMPLE_PATH)/COPYING $(@D)/COPYING
endef
RUSTSAMPLE_POST_RSYNC_HOOKS += RUSTSAMPLE_COPY_LICENSE

# The kernel options of the module are written once, in
# board/common/linux-rustsample.fragment, which the Yocto layer and the
# offline QEMU loop use too: a loadable rust_sample (the init script
# loads it, and unloads it on stop) and module unloading. CONFIG_RUST
# comes with BR2_LINUX_KERNEL_RUST, CONFIG_MODULES with
# BR2_LINUX_NEEDS_MODULES (see Config.in).
RUSTSAMPLE_KCONFIG_OPTS = \
	$(filter-out CONFIG_RUST=% CONFIG_MODULES=%, \
		$(shell grep -E '^CONFIG_[A-Z0-9_]+=[^ ]+$$' \
			$(BR2_EXTERNAL_RUSTSAMPLE_PATH)/board/common/linux-rustsample.fragment))

define RUSTSAMPLE_LINUX_CONFIG_FIXUPS
	$(foreach opt,$(RUSTSAMPLE_KCONFIG_OPTS),\
		$(call KCONFIG_SET_OPT,$(firstword $(subst =, ,$(opt))),$(lastword $(subst =, ,$(opt))))$(sep))
endef

define RUSTSAMPLE_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(RUSTSAMPLE_PKGDIR)/S50rustsample \
		$(TARGET_DIR)/etc/init.d/S50rustsample
endef

define RUSTSAMPLE_INSTALL_INIT_SYSTEMD
	mkdir -p $(TARGET_DIR)/usr/lib/modules-load.d
	echo rust_sample > $(TARGET_DIR)/usr/lib/modules-load.d/rust-sample.conf
endef

ifeq ($(BR2_PACKAGE_HAS_UDEV),y)
define RUSTSAMPLE_INSTALL_UDEV_RULES
	$(INSTALL) -D -m 0644 $(RUSTSAMPLE_PKGDIR)/50-rust-sample.rules \
		$(TARGET_DIR)/lib/udev/rules.d/50-rust-sample.rules
endef
endif

define RUSTSAMPLE_INSTALL_TARGET_CMDS
	$(RUSTSAMPLE_INSTALL_UDEV_RULES)
endef

# busybox installs its own /etc/mdev.conf, and nothing orders it
# before this package: add our line once everything is installed.
# Finalize hooks run on each build, so only add it when missing.
ifeq ($(BR2_ROOTFS_DEVICE_CREATION_DYNAMIC_MDEV),y)
define RUSTSAMPLE_MDEV_CONF
	if ! grep -qs '^rust-sample[[:space:]]' $(TARGET_DIR)/etc/mdev.conf; then \
		mkdir -p $(TARGET_DIR)/etc; \
		cat $(RUSTSAMPLE_PKGDIR)/mdev-rust-sample.conf \
			>> $(TARGET_DIR)/etc/mdev.conf; \
	fi
endef
RUSTSAMPLE_TARGET_FINALIZE_HOOKS += RUSTSAMPLE_MDEV_CONF
endif

$(eval $(generic-package))
