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

# install.sh puts the sources where rustc looks for them by default,
# i.e. $(HOST_DIR)/lib/rustlib/src/rust/library.
define HOST_RUST_SRC_INSTALL_CMDS
	(cd $(@D); \
		./install.sh \
			--prefix=$(HOST_DIR) \
			--disable-ldconfig \
			--components=rust-src)
endef

$(eval $(host-generic-package))
