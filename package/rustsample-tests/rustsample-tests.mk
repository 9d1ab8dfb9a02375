################################################################################
#
# rustsample-tests
#
################################################################################

# Same version as the rustsample package: the tests go with the module.
RUSTSAMPLE_TESTS_VERSION = 0.1
RUSTSAMPLE_TESTS_SITE = $(BR2_EXTERNAL_RUSTSAMPLE_PATH)/tests/guest
RUSTSAMPLE_TESTS_SITE_METHOD = local
RUSTSAMPLE_TESTS_LICENSE = GPL-2.0
RUSTSAMPLE_TESTS_LICENSE_FILES = COPYING

# tests/guest/ only has SPDX lines: take the project's license text
# along, for legal-info.
define RUSTSAMPLE_TESTS_COPY_LICENSE
	$(INSTALL) -m 0644 $(BR2_EXTERNAL_RUSTSAMPLE_PATH)/COPYING $(@D)/COPYING
endef
RUSTSAMPLE_TESTS_POST_RSYNC_HOOKS += RUSTSAMPLE_TESTS_COPY_LICENSE

define RUSTSAMPLE_TESTS_BUILD_CMDS
	$(TARGET_CC) $(TARGET_CFLAGS) $(TARGET_LDFLAGS) \
		-o $(@D)/devcheck $(@D)/devcheck.c -lpthread -lm
endef

# guest-tests.sh runs devcheck from the PATH.
define RUSTSAMPLE_TESTS_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/devcheck $(TARGET_DIR)/usr/bin/devcheck
	$(INSTALL) -D -m 0755 $(@D)/guest-tests.sh \
		$(TARGET_DIR)/usr/lib/rustsample/guest-tests.sh
endef

$(eval $(generic-package))
