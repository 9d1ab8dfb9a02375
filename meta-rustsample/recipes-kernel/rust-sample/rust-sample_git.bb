# nooelint: oelint.var.mandatoryvar.HOMEPAGE,oelint.var.bbclassextend - the module lives in the rustsample repository (no published homepage yet) and a kernel module is target-only
SUMMARY = "Rust kernel module providing /dev/rust-sample"
DESCRIPTION = "rust_sample is a Rust-for-Linux kernel module that registers \
               the misc device /dev/rust-sample, which returns random bytes \
               from the kernel CRNG like /dev/urandom. It is built out of \
               tree against the target kernel, loaded at boot, and the \
               device is made world-readable (0444) by a udev rule."
SECTION = "kernel"
LICENSE = "GPL-2.0-only"
LIC_FILES_CHKSUM = "file://../COPYING;md5=b234ee4d69f5fce4486a80fdaf4a4263 \
                    file://rust_sample.rs;beginline=1;endline=1;md5=50d2ba0afecd20f74c12a4bdbcfcfe61"

# module-rust.bbclass skips the recipe unless "rust" is in KERNEL_FEATURES.
inherit module-rust

# module/ (the one copy of the sources, shared with the Buildroot tree) and
# the udev rule come from the rustsample repository at SRCREV, so PKGV
# follows the module. RUSTSAMPLE_GIT_URL is a bitbake git URL of that
# repository without SRCREV; by default the repository this layer sits in
# (RUSTSAMPLE_REPO_DIR), fetched offline with git's file protocol and
# nobranch=1: SRCREV may be on any branch of that clone. A copy of the layer
# on its own has no default: the recipe is skipped until RUSTSAMPLE_GIT_URL
# is set (see the layer README).

# The directory holding module/ and .git three levels above this recipe, or
# "" for a copy of the layer on its own. Immediate expansion: THISDIR is
# this file's directory only while it is parsed.
# nooelint: oelint.vars.mispell.unknown - the layer's own variable, read in RUSTSAMPLE_GIT_URL's inline python
RUSTSAMPLE_REPO_DIR := "${@(lambda top: top if os.path.isfile(os.path.join(top, 'module', 'Kbuild')) and os.path.exists(os.path.join(top, '.git')) else '')(os.path.normpath(os.path.join(d.getVar('THISDIR'), '..', '..', '..')))}"
RUSTSAMPLE_GIT_URL ??= "${@'git://${RUSTSAMPLE_REPO_DIR};protocol=file;nobranch=1' if d.getVar('RUSTSAMPLE_REPO_DIR') else ''}"
# Where the checkout sits must not change the task hashes; SRCREV does.
RUSTSAMPLE_GIT_URL[vardepsexclude] += "RUSTSAMPLE_REPO_DIR"

# Skip the way oe-core's classes do (module-rust.bbclass as well).
# nooelint: oelint.task.noanonpython - bb.parse.SkipRecipe needs an anonymous python function
python __anonymous() {
    if not d.getVar('RUSTSAMPLE_GIT_URL'):
        raise bb.parse.SkipRecipe("this copy of meta-rustsample is not inside the rustsample repository: set RUSTSAMPLE_GIT_URL to a git URL of that repository (see the layer README)")
}

PV = "0.1+git"
SRC_URI = "${RUSTSAMPLE_GIT_URL}"
# Bump together with module/ or package/rustsample/50-rust-sample.rules.
SRCREV = "780234188585fbe6a12789dc583d73208051bd75"

S = "${UNPACKDIR}/${BB_GIT_DEFAULT_DESTSUFFIX}/module"

# module/Makefile wraps "make -C $(KDIR) M=$(CURDIR)"; module/Kbuild
# defaults CONFIG_RUST_SAMPLE to m for such out-of-tree builds.
EXTRA_OEMAKE += "KDIR=${STAGING_KERNEL_DIR}"

do_install:append() {
    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    install -m 0644 ${S}/../package/rustsample/50-rust-sample.rules \
        ${D}${nonarch_base_libdir}/udev/rules.d/50-rust-sample.rules
}

# Load at boot: kernel-module-split writes rust_sample.conf to modules-load.d,
# read by systemd-modules-load and by sysvinit's modutils.sh alike.
KERNEL_MODULE_AUTOLOAD += "rust_sample"

FILES:${PN} += "${nonarch_base_libdir}/udev/rules.d/50-rust-sample.rules"

# The module itself is in the split package kernel-module-rust-sample-<kver>.
RPROVIDES:${PN} += "kernel-module-rust-sample"
