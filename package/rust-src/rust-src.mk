################################################################################
#
# rust-src
#
################################################################################

# The Rust sources of the standard library (core, alloc, ...), as
# shipped by the rust-src component of the Rust toolchain. The Linux
# kernel builds its own copy of core from them (RUST_LIB_SRC), so they
# must come from exactly the same release as the host compiler.
# Neither host-rust-bin nor host-rust install this component.
ifeq ($(BR2_PACKAGE_HOST_RUST),y)
RUST_SRC_VERSION = $(RUST_VERSION)
else
RUST_SRC_VERSION = $(RUST_BIN_VERSION)
endif
RUST_SRC_SOURCE = rust-src-$(RUST_SRC_VERSION).tar.xz
RUST_SRC_SITE = https://static.rust-lang.org/dist
RUST_SRC_LICENSE = Apache-2.0 or MIT
RUST_SRC_LICENSE_FILES = LICENSE-APACHE LICENSE-MIT

# Copy the sources to where rustc looks for them by default
# ($(HOST_DIR)/lib/rustlib/src/rust/library). The component's
# install.sh would also rewrite the rustlib manifests of host-rustc.
define HOST_RUST_SRC_INSTALL_CMDS
	mkdir -p $(HOST_DIR)/lib/rustlib/src/rust
	cp -a $(@D)/rust-src/lib/rustlib/src/rust/. \
		$(HOST_DIR)/lib/rustlib/src/rust/
endef

$(eval $(host-generic-package))

# RUST_SRC_VERSION follows Buildroot's Rust: after a Rust update, say
# so before anything is built, rather than with "No hash found" in the
# middle of the downloads.
ifeq ($(BR2_LINUX_KERNEL_RUST),y)
ifneq ($(BR_BUILDING)$(filter source %-source legal-info %-legal-info,$(MAKECMDGOALS)),)
ifeq ($(shell grep -hs ' $(RUST_SRC_SOURCE)$$' $(HOST_RUST_SRC_HASH_FILES)),)
$(error No hash for $(RUST_SRC_SOURCE), the Rust library sources of Rust $(RUST_SRC_VERSION): add the sha256 from https://static.rust-lang.org/dist/$(RUST_SRC_SOURCE).sha256 to $(HOST_RUST_SRC_PKGDIR)/rust-src.hash)
endif
endif
endif
