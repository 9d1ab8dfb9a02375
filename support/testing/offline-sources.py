#!/usr/bin/env python3
"""Assemble the sources of a Buildroot configuration without its download sites.

Buildroot downloads each package's sources from upstream, checked against
the hashes it carries. On a machine that reaches only Debian's archive,
PyPI and local git trees, this script puts each source where Buildroot
looks for it, or tells Buildroot to take it from a local tree:

- the file, when the one found has Buildroot's hash: it goes into the
  download directory (BR2_DL_DIR), and Buildroot checks, extracts and
  patches it as usual;
- otherwise (same version other bytes, or the nearest version), an
  extracted tree with Buildroot's patches applied here, named as
  <PKG>_OVERRIDE_SRCDIR in the output directory's local.mk (Buildroot's
  default BR2_PACKAGE_OVERRIDE_FILE; the script rewrites it).

It prints a table of where every package's source came from, and never
writes into the Buildroot checkout: only into the output directory and
the work directory.

    offline-sources.py --buildroot DIR --output DIR --work DIR \\
        [--git PKG=REPO@REF ...]

The output directory is configured already (make O=... <name>_defconfig).
"""

import argparse
import fcntl
import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request

# Buildroot download directory name -> Debian source package(s), in the
# order to try them.
DEBIAN = {
    "acl": "acl",
    "attr": "attr",
    "autoconf": "autoconf",
    "autoconf-archive": "autoconf-archive",
    "automake": "automake",
    "binutils": "binutils",
    "bmap-tools": "bmap-tools",
    "bison": "bison",
    "busybox": "busybox",
    "bzip2": "bzip2",
    "dosfstools": "dosfstools",
    "dtc": "device-tree-compiler",
    "e2fsprogs": "e2fsprogs",
    "elfutils": "elfutils",
    "expat": "expat",
    "fakeroot": "fakeroot",
    "flex": "flex",
    "gawk": "gawk",
    "gcc": "gcc-15",
    "genimage": "genimage",
    "glibc": "glibc",
    "gmp": "gmp",
    "gnutls": "gnutls28",
    "kmod": "kmod",
    "libconfuse": "libconfuse",
    "libffi": "libffi",
    "libglib2": "glib2.0",
    "libopenssl": "openssl",
    "libtasn1": "libtasn1-6",
    "libtool": "libtool",
    "libunistring": "libunistring",
    "libzlib": "zlib",
    "linux": "linux",
    "linux-headers": "linux",
    "lzip": "lzip",
    "m4": "m4",
    "meson": "meson",
    "mpc": "mpclib3",
    "mpfr": "mpfr4",
    "mtools": "mtools",
    "nettle": "nettle",
    "ninja": "ninja-build",
    "opensbi": "opensbi",
    "p11-kit": "p11-kit",
    "patchelf": "patchelf",
    "pcre2": "pcre2",
    "pixman": "pixman",
    "pkgconf": "pkgconf",
    "python3": ["python3.14", "python3.13"],
    "qemu": "qemu",
    "slirp": "libslirp",
    "swig": "swig",
    "tar": "tar",
    "uboot": "u-boot",
    "util-linux": "util-linux",
    "xz": "xz-utils",
    "zstd": "libzstd",
}

# Buildroot download directory name -> Debian binary package whose files
# stand in for a source Debian does not carry: (package, its directory,
# the directory of Buildroot's tree, the license file Buildroot names).
# Debian ships the Raspberry Pi boot firmware (raspberrypi/firmware's
# boot/) as the binary package raspi-firmware, not as a source.
DEBIAN_BINARY = {
    "rpi-firmware": ("raspi-firmware", "usr/lib/raspi-firmware", "boot",
                     "boot/LICENCE.broadcom"),
}

# Packages whose .mk puts their version into an installed path: when
# another version stands in, the override file sets that variable from the
# version taken. swig's wrapper names share/swig/<version>; host Python
# packages go where that python looks (lib/python<major.minor>).
VERSION_IN_PATHS = {
    "swig": ("SWIG_VERSION", lambda v: v),
    "python3": ("PYTHON3_VERSION_MAJOR", lambda v: ".".join(v.split(".")[:2])),
}

# Buildroot download directory name -> PyPI project (sdists).
PYPI = {
    "meson": "meson",
    "python-calver": "calver",
    "python-hatchling": "hatchling",
    "python-pathspec": "pathspec",
    "python-pluggy": "pluggy",
    "python-pylibfdt": "pylibfdt",
    "python-setuptools-scm": "setuptools_scm",
    "python-trove-classifiers": "trove_classifiers",
    "python-distlib": "distlib",
    "python-flit-core": "flit_core",
    "python-installer": "installer",
    "python-packaging": "packaging",
    "python-pypa-build": "build",
    "python-pyproject-hooks": "pyproject_hooks",
    "python-setuptools": "setuptools",
    "python-wheel": "wheel",
}

# What gettext-tiny's hooks copy from GNU gettext.
GETTEXT_EXTRA_FILES = [
    "gettext-tools/misc/gettextize.in",
    "gettext-tools/po/Makevars.template",
    "gettext-runtime/po/boldquot.sed",
    "gettext-runtime/po/en@boldquot.header",
    "gettext-runtime/po/en@quot.header",
    "gettext-runtime/po/insert-header.sin",
    "gettext-runtime/po/quot.sed",
    "gettext-runtime/po/remove-potcdate.sin",
    "gettext-runtime/po/Rules-quot",
    "gettext-runtime/po/Makefile.in.in",
    "COPYING",
]

# Files that Debian's +dfsg repacks drop (GFDL manuals) but the build
# reads: they are made empty.
MANUAL_STUB = """\\input texinfo
@setfilename {name}.info
@settitle {name}
@node Top
@top {name}
Debian's source package does not carry this manual.
@bye
"""
DFSG_STUBS = {
    "gmp": {"doc/Makefile.am": ""},  # a SUBDIRS of its own
    "bison": {"doc/figs/example.txt": "", "doc/figs/example-reduce.txt": "",
              "doc/figs/example-shift.txt": ""},
}


def gcc_without_tm_texi(tree):
    """Debian's repack empties gcc's GFDL doc/tm.texi.in, from which the
    build regenerates doc/tm.texi and fails: the stamp is made without it,
    as Debian's own gcc-gfdl-build.diff does."""
    texi = os.path.join(tree, "gcc", "doc", "tm.texi.in")
    if not os.path.exists(texi) or "non DFSG" not in read(texi):
        return None
    makefile = os.path.join(tree, "gcc", "Makefile.in")
    text = read(makefile)
    rule = re.search(r"^s-tm-texi: build/genhooks.*\n(?:\t.*\n|.*\\\n)+", text, re.M)
    if not rule:
        return None
    head = rule.group(0).splitlines()[0]
    open(makefile, "w").write(text.replace(rule.group(0), head + "\n\t$(STAMP) $@\n"))
    return "gcc/Makefile.in does not regenerate doc/tm.texi"


def glibc_without_manual(tree):
    """Debian's repack drops glibc's manual/ (GFDL), which the build still
    lists among its subdirectories."""
    makeconfig = os.path.join(tree, "Makeconfig")
    if os.path.isdir(os.path.join(tree, "manual")) or not os.path.exists(makeconfig):
        return None
    text = read(makeconfig)
    fixed = re.sub(r"(\bwctype) manual( po\b)", r"\1\2", text)
    if fixed == text:
        return None
    open(makeconfig, "w").write(fixed)
    return "manual/ left out of the subdirectories (Makeconfig)"


# Changes for trees whose Debian repack drops what the build uses.
DFSG_FIXUPS = {
    "gcc": gcc_without_tm_texi,
    "glibc": glibc_without_manual,
}

DEBIAN_MIRROR = "http://deb.debian.org/debian"
PYPI_SIMPLE = "https://pypi.org/simple"
# Newest first; older suites keep older releases (automake 1.16, gettext 0.2x),
# and backports keep kernel series no release ships (6.18).
SUITES = ("sid", "trixie", "trixie-backports", "bookworm")


# The exit status when a --patch cannot be applied: a build would go without it.
PATCH_FAILED = 3


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def key_of(pkg):
    """A download's key in the state file: <dl_dir>/<source>."""
    return pkg["dl_dir"] + "/" + pkg["source"]


def read(path, **kw):
    with open(path, **kw) as f:
        return f.read()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def known_hashes(buildroot, hash_files, source):
    """The sha256 lines for SOURCE in the package's hash files."""
    found = []
    for hf in hash_files:
        path = hf if os.path.isabs(hf) else os.path.join(buildroot, hf)
        if not os.path.exists(path):
            continue
        for line in open(path):
            parts = line.split()
            if len(parts) == 3 and parts[0] == "sha256" and parts[2] == source:
                found.append(parts[1])
    return found


def upstream_version(debian_version):
    """1:2.6.0-1 -> 2.6.0; 3.8.2+dfsg-1 -> 3.8.2; 20241016-3 -> 20241016."""
    v = debian_version.split(":", 1)[-1].rsplit("-", 1)[0]
    v = v.split("really")[-1]
    return re.sub(r"[+~](dfsg|ds).*$", "", v)


def version_key(v):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.\-+~]", v)]


class Apt:
    """apt-get with a state of its own: the machine's sources stay as they are."""

    def __init__(self, work):
        self.dir = os.path.join(work, "apt")
        for d in ("lists/partial", "cache/archives/partial", "parts"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        self.sources = os.path.join(self.dir, "sources.list")
        with open(self.sources, "w") as f:
            for suite in SUITES:
                f.write(f"deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
                        f"{DEBIAN_MIRROR} {suite} main\n")
                # firmware, as binary packages only (DEBIAN_BINARY)
                f.write(f"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
                        f"{DEBIAN_MIRROR} {suite} non-free-firmware\n")
        self.opts = [
            "-o", f"Dir::Etc::SourceList={self.sources}",
            "-o", f"Dir::Etc::SourceParts={self.dir}/parts",
            "-o", f"Dir::State::Lists={self.dir}/lists",
            "-o", f"Dir::Cache={self.dir}/cache",
            "-o", "Dir::Etc::Preferences=/dev/null",
            "-o", "APT::Architectures=amd64",
        ]
        self.updated = False

    def update(self):
        if not self.updated:
            for attempt in range(3):
                r = subprocess.run(["apt-get", *self.opts, "-q", "update"],
                                   stdout=subprocess.DEVNULL)
                if r.returncode == 0:
                    break
            self.updated = True

    def records(self, srcpkg):
        """The index's records of SRCPKG: version, directory, {file: sha256}."""
        self.update()
        out = subprocess.run(["apt-cache", *self.opts, "showsrc", srcpkg],
                             capture_output=True, text=True).stdout
        records = []
        for block in out.split("\n\n"):
            version = re.search(r"^Version: (\S+)$", block, re.M)
            directory = re.search(r"^Directory: (\S+)$", block, re.M)
            sums = re.search(r"^Checksums-Sha256:\n((?: .*\n?)+)", block, re.M)
            if version and directory and sums:
                files = dict((f, h) for h, _, f in
                             (line.split() for line in sums.group(1).splitlines()))
                records.append((version.group(1), directory.group(1), files))
        return records

    def versions(self, srcpkg):
        return [v for v, _, _ in self.records(srcpkg)]

    def download_binary(self, binpkg, dest):
        """The newest BINPKG .deb into DEST (apt checks it against the
        signed index): its version and path, or None."""
        self.update()
        os.makedirs(dest, exist_ok=True)
        r = subprocess.run(["apt-get", *self.opts, "-q", "download", binpkg], cwd=dest,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        debs = glob.glob(os.path.join(dest, f"{binpkg}_*.deb"))
        if r.returncode != 0 or not debs:
            return None
        deb = max(debs, key=os.path.getmtime)
        version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        return version, deb

    def download_orig(self, srcpkg, version, dest):
        """VERSION's orig tarball into DEST, checked against the index, which
        apt checked against the archive's signature. The index can name
        revisions the archive has dropped: then None."""
        for v, directory, files in self.records(srcpkg):
            if v != version:
                continue
            for name, digest in files.items():
                if ".orig.tar." not in name or name.endswith(".asc") or ".orig-" in name:
                    continue
                os.makedirs(dest, exist_ok=True)
                path = os.path.join(dest, name)
                try:
                    urllib.request.urlretrieve(f"{DEBIAN_MIRROR}/{directory}/{name}", path + ".part")
                except OSError:
                    continue
                if sha256(path + ".part") == digest:
                    os.rename(path + ".part", path)
                    return path
                os.remove(path + ".part")
        return None


def debian_candidates(versions, wanted):
    """Buildroot's upstream version first if Debian has it, then the nearest
    releases (the archive may have dropped the orig tarball of one)."""
    # autoconf-archive 2024.10.16 is Debian's 20241016
    same = (wanted, wanted.replace(".", ""))
    exact = sorted((v for v in versions if upstream_version(v) in same), key=version_key, reverse=True)
    # Debian's snapshots (2.45.50.20251125) are no releases.
    releases = [v for v in versions if not re.search(r"\.(50|90)\.\d{8}", v) and v not in exact]
    w = version_key(wanted)
    return exact + sorted(releases, key=lambda v: nearest_distance(version_key(upstream_version(v)), w))


def nearest_distance(a, b):
    """Versions that share more leading components are nearer."""
    shared = 0
    for x, y in zip(a, b):
        if x != y:
            break
        shared += 1
    nxt = (a[shared] if shared < len(a) else 0, b[shared] if shared < len(b) else 0)
    gap = abs(nxt[0] - nxt[1]) if all(isinstance(x, int) for x in nxt) else 0
    return (-shared, gap)


def debian_origs(dest):
    return sorted(f for f in glob.glob(os.path.join(dest, "*.orig.tar.*"))
                  if not f.endswith(".asc") and "orig-" not in os.path.basename(f))


def git_archive(repo, ref, archive):
    """A tar of REF's tree; a partial mirror may lack some blobs, which are
    left out and returned."""
    os.makedirs(os.path.dirname(archive), exist_ok=True)
    entries = subprocess.run(["git", "--git-dir", repo, "ls-tree", "-r", "-z", ref],
                             capture_output=True, check=True).stdout.split(b"\0")
    missing = []
    cat = subprocess.Popen(["git", "--git-dir", repo, "cat-file", "--batch"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    with tarfile.open(archive, "w") as tar:
        for entry in filter(None, entries):
            meta, path = entry.split(b"\t", 1)
            mode, kind, obj = meta.split()
            if kind != b"blob":
                continue  # submodules
            cat.stdin.write(obj + b"\n")
            cat.stdin.flush()
            header = cat.stdout.readline().split()
            if header[-1] == b"missing":
                missing.append(path.decode())
                continue
            data = cat.stdout.read(int(header[2]))
            cat.stdout.read(1)
            info = tarfile.TarInfo("src/" + path.decode())
            if mode == b"120000":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
            else:
                info.size, info.mode = len(data), 0o755 if mode == b"100755" else 0o644
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    cat.stdin.close()
    cat.wait()
    return missing


def missing_manuals(tree):
    """The Texinfo manuals that automake builds (info_TEXINFOS) but the tree
    lacks, each with a stub to build instead."""
    stubs = {}
    makefiles = glob.glob(os.path.join(tree, "**", "*.am"), recursive=True)
    makefiles += glob.glob(os.path.join(tree, "**", "local.mk"), recursive=True)
    for am in makefiles:
        text = read(am, errors="replace")
        for m in re.finditer(r"^info_TEXINFOS[ \t]*=[ \t]*(.+)$", text, re.M):
            for texi in m.group(1).split():
                # %D%: the directory of an included local.mk
                texi = texi.replace("%D%", os.path.relpath(os.path.dirname(am), tree))
                rel = texi if "%D%" in m.group(1) else os.path.relpath(
                    os.path.join(os.path.dirname(am), texi), tree)
                name = os.path.splitext(os.path.basename(texi))[0]
                stubs[rel] = MANUAL_STUB.format(name=name)
    return stubs


def extract(archive, dest):
    """Extract ARCHIVE into DEST without its top directory."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    if archive.endswith(".lz"):
        run(f"lzip -dc '{archive}' | tar -x --strip-components=1 -C '{dest}'", shell=True)
    else:
        run(["tar", "-xf", archive, "--strip-components=1", "-C", dest])


def patches_given(entry):
    """The --patch files a state entry's tree was made with, by name."""
    return sorted(re.findall(r"(\S+) \(given\)", entry.get("patches", "")))


def patch_dirs(buildroot, output, pkg, version):
    """Where Buildroot takes PKG's patches from, in its order.

    gcc-initial and gcc-final live below package/gcc, whose patches their
    post-patch hook applies: take those too.
    """
    info = pkg["info"]
    pkgdir = os.path.join(buildroot, info["package_dir"])
    dirs = []
    for d in (os.path.dirname(pkgdir), pkgdir):
        if os.path.exists(os.path.join(d, "Config.in")) or d == pkgdir:
            # 2.46 takes Buildroot's patches for 2.46.1
            dirs += [d, os.path.join(d, version), *sorted(glob.glob(os.path.join(d, version + ".*")))]
    for g in global_patch_dirs(output):
        dirs.append(os.path.join(g, pkg["rawname"]))
        dirs.append(os.path.join(g, pkg["rawname"], version))
    return list(dict.fromkeys(d for d in dirs if glob.glob(os.path.join(d, "*.patch"))))


def global_patch_dirs(output):
    cfg = read(os.path.join(output, ".config"))
    m = re.search(r'^BR2_GLOBAL_PATCH_DIR="(.*)"$', cfg, re.M)
    ext = re.search(r'^BR2_EXTERNAL_RUSTSAMPLE_PATH="(.*)"$', cfg, re.M)
    if not m:
        return []
    value = m.group(1)
    if ext:
        value = value.replace("$(BR2_EXTERNAL_RUSTSAMPLE_PATH)", ext.group(1))
    return value.split()


def apply_patches(buildroot, tree, dirs):
    """Buildroot's own apply-patches.sh; on failure the tree is left unpatched."""
    for d in dirs:
        r = subprocess.run([os.path.join(buildroot, "support/scripts/apply-patches.sh"),
                            "-s", tree, d, "*.patch"], capture_output=True, text=True)
        if r.returncode != 0:
            return f"failed in {os.path.basename(d)}"
    return "applied here" if dirs else "none"


class Assembler:
    def __init__(self, args):
        self.br = os.path.abspath(args.buildroot)
        self.out = os.path.abspath(args.output)
        self.work = os.path.abspath(args.work)
        self.dl = os.path.join(self.work, "dl")
        self.git = dict(g.split("=", 1) for g in args.git)
        self.tarballs = dict(t.split("=", 1) for t in args.tarball)
        self.patches = {}
        for p in args.patch:
            name, path = p.split("=", 1)
            self.patches.setdefault(name, []).append(os.path.abspath(path))
        self.apt = Apt(self.work)
        self.rows = []
        self.overrides = {}
        self.state_file = os.path.join(self.work, "provenance.json")
        self.state = json.loads(read(self.state_file)) if os.path.exists(self.state_file) else {}

    def packages(self):
        # What Buildroot would download: without the overrides of a former run.
        out = subprocess.run(["make", "-s", "-C", self.br, f"O={self.out}", "show-info",
                              "BR2_PACKAGE_OVERRIDE_FILE="],
                             capture_output=True, text=True, check=True).stdout
        info = json.loads(out)
        pkgs = {}
        for name, i in sorted(info.items()):
            for d in i.get("downloads", []):
                if d["uris"] and d["uris"][0].startswith("local+"):
                    continue  # a local site: this tree's module/ or tests/
                key = (i["dl_dir"], d["source"])
                p = pkgs.setdefault(key, {"names": [], "info": i, "source": d["source"],
                                          "dl_dir": i["dl_dir"], "version": i["version"],
                                          "rawname": i["package_dir"].rstrip("/").split("/")[-1]})
                p["names"].append(name)
        return pkgs.values()

    def dl_path(self, pkg):
        return os.path.join(self.dl, pkg["dl_dir"], pkg["source"])

    def record(self, pkg, origin, hash_state, patches, override=None):
        self.state[key_of(pkg)] = {"packages": pkg["names"], "origin": origin,
                                   "hash": hash_state, "patches": patches, "override": override}
        with open(self.state_file, "w") as f:
            json.dump(self.state, f, indent=1, sort_keys=True)

    def assemble(self, pkg):
        key = key_of(pkg)
        hashes = known_hashes(self.br, pkg["info"]["hashes"], pkg["source"])
        path = self.dl_path(pkg)
        prev = self.state.get(key)
        # GNU gettext's files for gettext-tiny go into its git tree (below).
        gettext_gnu = pkg["dl_dir"] == "gettext-tiny" and pkg["source"].startswith("gettext-0")
        if pkg["dl_dir"] in self.git and not gettext_gnu and \
                not (prev or {}).get("origin", "").startswith("git"):
            prev = None
        if gettext_gnu and prev and not os.path.isfile(
                os.path.join(prev.get("override") or "", "build-aux", "config.rpath")):
            prev = None
        if pkg["dl_dir"] in self.tarballs and (prev or {}).get("origin") != os.path.basename(
                self.tarballs[pkg["dl_dir"]]):
            prev = None
        # A tree made with other patches of the user's is made again.
        given = sorted(os.path.basename(p) for p in self.patches.get(pkg["dl_dir"], []))
        if prev and given != patches_given(prev):
            prev = None
        if os.path.exists(path) and sha256(path) in hashes:
            if not prev:
                self.record(pkg, "download directory", "matches", "by Buildroot")
            return
        if prev and prev.get("override") and os.path.isdir(prev["override"]):
            return
        dl_dir = pkg["dl_dir"]
        if gettext_gnu:
            return self.gettext_tiny(pkg)
        if dl_dir in self.git:
            return self.from_git(pkg, hashes)
        if dl_dir in self.tarballs:
            tarball = os.path.abspath(self.tarballs[dl_dir])
            if self.place(pkg, tarball, hashes):
                return self.record(pkg, tarball, "matches", "by Buildroot")
            m = re.search(r"[-_]v?(\d[\w.]*?)(?:\.orig)?\.tar", os.path.basename(tarball))
            version = m.group(1) if m else "local"
            why = "overridden: " + (f"version {version}, not {pkg['version']}"
                                    if version != pkg["version"] else "same version, other bytes")
            return self.override(pkg, tarball, version, os.path.basename(tarball), why)
        if dl_dir in PYPI and self.from_pypi(pkg, hashes):
            return
        if dl_dir in DEBIAN:
            return self.from_debian(pkg, hashes)
        if dl_dir in DEBIAN_BINARY:
            return self.from_debian_binary(pkg)
        self.record(pkg, "nowhere", "-", "-")

    def place(self, pkg, candidate, hashes):
        """Put CANDIDATE in the download directory if it has Buildroot's hash."""
        if hashes and sha256(candidate) in hashes:
            os.makedirs(os.path.dirname(self.dl_path(pkg)), exist_ok=True)
            shutil.copyfile(candidate, self.dl_path(pkg))
            return True
        return False

    def override(self, pkg, archive, version, origin, why):
        final = os.path.join(self.work, "src", f"{pkg['dl_dir']}-{version}")
        # Made aside and moved into place: a run stopped halfway leaves no
        # partial tree behind.
        tree = final + ".new"
        patches = "none"
        # Buildroot's patches for its version, else for the one taken.
        for v in dict.fromkeys((pkg["version"], version)):
            extract(archive, tree)
            patches = apply_patches(self.br, tree, patch_dirs(self.br, self.out, pkg, v))
            if not patches.startswith("failed"):
                if v != pkg["version"]:
                    patches += f" (Buildroot's for {v})"
                break
        else:
            extract(archive, tree)
        for given in self.patches.get(pkg["dl_dir"], []):
            r = subprocess.run(["patch", "-p1", "-s", "-N", "-d", tree, "-i", given],
                               capture_output=True, text=True)
            if r.returncode != 0:
                log(f"offline-sources: {given} does not apply to {pkg['dl_dir']} {version}:\n"
                    + r.stdout + r.stderr)
                sys.exit(PATCH_FAILED)
            patches = ("" if patches == "none" else patches + "; ") + \
                f"{os.path.basename(given)} (given)"
        # Debian's expat is its git repository, the project in expat/.
        inner = os.path.join(tree, pkg["dl_dir"])
        if not os.path.exists(os.path.join(tree, "configure.ac")) and \
                os.path.exists(os.path.join(inner, "configure.ac")):
            os.rename(inner, tree + ".inner")
            shutil.rmtree(tree)
            os.rename(tree + ".inner", tree)
            why += f"; the tree of its {pkg['dl_dir']}/"
        stubs = {f: text for f, text in {**missing_manuals(tree),
                                         **DFSG_STUBS.get(pkg["dl_dir"], {})}.items()
                 if not os.path.exists(os.path.join(tree, f))}
        for stub, text in stubs.items():
            os.makedirs(os.path.dirname(os.path.join(tree, stub)), exist_ok=True)
            with open(os.path.join(tree, stub), "w") as f:
                f.write(text)
            # older than what the release made from it (gawk's awklib/eg)
            os.utime(os.path.join(tree, stub), (946684800, 946684800))
        if stubs:
            why += f"; a stub for {', '.join(stubs)} (Debian's repack drops the manual)"
        fixup = DFSG_FIXUPS.get(pkg["dl_dir"])
        note = fixup(tree) if fixup else None
        if note:
            why += f"; {note}"
        # A git tree of an autotools project has no configure script,
        # which its release tarball has.
        if os.path.exists(os.path.join(tree, "configure.ac")) and \
                not os.path.exists(os.path.join(tree, "configure")):
            r = subprocess.run(["autoreconf", "-fi"], cwd=tree,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            why += "; configure made here (autoreconf)" if r.returncode == 0 else "; autoreconf failed"
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tree, final)
        self.forget_builds(pkg)
        self.record(pkg, origin, why, patches, final)

    def forget_builds(self, pkg):
        """A build that took an earlier tree would not take a new one."""
        for name in pkg["names"]:
            shutil.rmtree(os.path.join(self.out, "build", f"{name}-custom"), ignore_errors=True)

    def debian_orig(self, src, versions):
        """The first of VERSIONS whose orig tarball the archive still has."""
        for version in versions:
            dest = os.path.join(self.work, "debian", f"{src}_{upstream_version(version)}")
            origs = debian_origs(dest)
            if not origs:
                log(f"  Debian source {src} {version}")
                origs = [self.apt.download_orig(src, version, dest)]
            if origs[0]:
                return version, origs[0]
        return None, None

    def from_debian(self, pkg, hashes):
        sources = DEBIAN[pkg["dl_dir"]]
        wanted = pkg["version"]
        for src in [sources] if isinstance(sources, str) else sources:
            version, orig = self.debian_orig(src, debian_candidates(self.apt.versions(src), wanted)[:6])
            if orig:
                break
        else:
            return self.record(pkg, f"Debian {src}: no orig tarball", "-", "-")
        exact = upstream_version(version) in (wanted, wanted.replace(".", ""))
        origin = f"Debian {src} {version}"
        if exact and self.place(pkg, orig, hashes):
            return self.record(pkg, origin, "matches", "by Buildroot")
        inner = self.inner_tarball(orig, pkg["source"], os.path.dirname(orig))
        if exact and inner and self.place(pkg, inner, hashes):
            return self.record(pkg, origin + " (tarball inside its orig)", "matches", "by Buildroot")
        if exact:
            why = "overridden: same version, other bytes"
        else:
            why = f"overridden: version {upstream_version(version)}, not {wanted}"
        self.override(pkg, inner or orig, upstream_version(version), origin, why)

    def from_debian_binary(self, pkg):
        binpkg, files, into, license_file = DEBIAN_BINARY[pkg["dl_dir"]]
        got = self.apt.download_binary(binpkg, os.path.join(self.work, "debian", binpkg))
        if not got:
            return self.record(pkg, f"Debian {binpkg}: no package", "-", "-")
        version, deb = got
        unpacked = os.path.join(self.work, "debian", binpkg, "root")
        shutil.rmtree(unpacked, ignore_errors=True)
        run(["dpkg-deb", "-x", deb, unpacked])
        final = os.path.join(self.work, "src", f"{pkg['dl_dir']}-{upstream_version(version)}")
        tree = final + ".new"
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(os.path.join(unpacked, files), os.path.join(tree, into))
        # Debian's copyright file carries the firmware's licence text.
        shutil.copy(os.path.join(unpacked, "usr/share/doc", binpkg, "copyright"),
                    os.path.join(tree, license_file))
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tree, final)
        self.forget_builds(pkg)
        self.record(pkg, f"Debian binary package {binpkg} {version}",
                    f"overridden: Debian's release {upstream_version(version)}, not commit "
                    f"{pkg['version'][:12]}; {files}/ as {into}/", "none", final)

    def inner_tarball(self, orig, source, dest):
        """Debian's gcc ships upstream's tarball inside its orig."""
        stem = re.sub(r"\.tar\.\w+$", "", source)
        try:
            with tarfile.open(orig) as t:
                for m in t:
                    base = os.path.basename(m.name)
                    if m.isfile() and base.startswith(stem) and ".tar." in base \
                            and not os.path.isabs(m.name) and ".." not in m.name.split("/"):
                        t.extract(m, os.path.join(dest, "inner"))
                        return os.path.join(dest, "inner", m.name)
        except tarfile.TarError:
            pass
        return None

    def from_pypi(self, pkg, hashes):
        """PyPI's sdist; False when PyPI does not have that version."""
        project = PYPI[pkg["dl_dir"]]
        dest = os.path.join(self.work, "pypi", pkg["dl_dir"])
        os.makedirs(dest, exist_ok=True)
        # The file of that name from the index (pip would build the sdist's
        # metadata first, which pylibfdt cannot without swig), else pip's pick.
        try:
            index = urllib.request.urlopen(f"{PYPI_SIMPLE}/{project}/").read().decode()
            url = re.search(r'href="([^"#]*/' + re.escape(pkg["source"]) + r')[#"]', index)
            if url:
                urllib.request.urlretrieve(urllib.parse.urljoin(f"{PYPI_SIMPLE}/{project}/", url.group(1)),
                                           os.path.join(dest, pkg["source"]))
        except OSError:
            pass
        if not os.path.exists(os.path.join(dest, pkg["source"])):
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "--no-binary", ":all:", "-d", dest,
                            f"{project}=={pkg['version']}"], capture_output=True)
        got = [f for f in glob.glob(os.path.join(dest, "*")) if os.path.isfile(f)]
        for f in got:
            if self.place(pkg, f, hashes):
                self.record(pkg, f"PyPI {project} {pkg['version']}", "matches", "by Buildroot")
                return True
        if got:
            self.override(pkg, got[0], pkg["version"], f"PyPI {project}",
                          "overridden: other bytes")
            return True
        if pkg["dl_dir"] in DEBIAN:
            return False  # Debian may have it
        self.record(pkg, f"PyPI {project}: not found", "-", "-")
        return True

    def from_git(self, pkg, hashes):
        repo, ref = self.git[pkg["dl_dir"]].rsplit("@", 1)
        archive = os.path.join(self.work, "git", f"{pkg['dl_dir']}-{ref}.tar")
        missing = git_archive(repo, ref, archive)
        why = "overridden: tree from git"
        if missing:
            why += f" ({len(missing)} blobs absent from the repository: {', '.join(missing[:3])})"
        self.override(pkg, archive, ref.lstrip("v"), f"git {repo} {ref}",
                      why)

    def gettext_tiny(self, pkg):
        """gettext-tiny takes files from GNU gettext in its post-extract and
        post-patch hooks, which an overridden package does not run: do
        what they do (package/gettext-tiny/gettext-tiny.mk)."""
        tree = next((s["override"] for k, s in self.state.items()
                     if k.startswith("gettext-tiny/gettext-tiny-") and s.get("override")), None)
        if not tree:
            return self.record(pkg, "needs gettext-tiny from git (--git gettext-tiny=...)", "-", "-")
        candidates = debian_candidates(self.apt.versions("gettext"), pkg["version"])
        version, orig = self.debian_orig("gettext", candidates[:6])
        if not orig:
            return self.record(pkg, "Debian gettext: no orig tarball", "-", "-")
        gnu = os.path.join(tree, "gettext-gnu")
        extract(orig, gnu)
        os.makedirs(os.path.join(tree, "extra"), exist_ok=True)
        for f in GETTEXT_EXTRA_FILES:
            path = os.path.join(gnu, f)
            if not os.path.exists(path):
                # moved in later releases: the first file of that name
                path = sorted(glob.glob(os.path.join(gnu, "**", os.path.basename(f)),
                                        recursive=True))[0]
            shutil.copy(path, os.path.join(tree, "extra", os.path.basename(f)))
        aux = os.path.join(tree, "build-aux")
        if not os.path.isdir(aux):
            if os.path.exists(aux):
                os.remove(aux)  # a file left by an earlier release of this script
            os.makedirs(aux)
        shutil.copy(os.path.join(gnu, "build-aux/config.rpath"), os.path.join(aux, "config.rpath"))
        self.forget_builds(pkg)
        self.record(pkg, f"Debian gettext {version}, into the gettext-tiny tree",
                    f"overridden: version {upstream_version(version)}, not "
                    f"{pkg['source'].split('-')[1].split('.tar')[0]}",
                    "none", tree)

    def write_override_file(self, pkgs):
        # One file per output directory, where Buildroot looks by default
        # ($(CONFIG_DIR)/local.mk): two configurations may take two
        # versions of one package (linux, uboot).
        current = {key_of(p) for p in pkgs}
        lines = []
        # linux-headers then takes linux's source, and must not be named.
        as_kernel = "BR2_KERNEL_HEADERS_AS_KERNEL=y" in read(os.path.join(self.out, ".config"))
        for key, s in sorted(self.state.items()):
            if key in current and s.get("override"):
                for name in s["packages"]:
                    if name == "linux-headers" and as_kernel:
                        continue
                    var = name.upper().replace("-", "_") + "_OVERRIDE_SRCDIR"
                    lines.append(f"{var} = {s['override']}")
                dl_dir = key.split("/")[0]
                if dl_dir in VERSION_IN_PATHS:
                    variable, value = VERSION_IN_PATHS[dl_dir]
                    taken = os.path.basename(s["override"])[len(dl_dir) + 1:]
                    lines.append(f"override {variable} = {value(taken)}")
        lines = list(dict.fromkeys(lines))
        path = os.path.join(self.out, "local.mk")
        with open(path, "w") as f:
            f.write("# Written by offline-sources.py\n" + "\n".join(lines) + "\n")
        return path

    def table(self, pkgs):
        current = {key_of(p) for p in pkgs}
        rows = ["| source | packages | from | Buildroot's hash | Buildroot's patches |",
                "| --- | --- | --- | --- | --- |"]
        for key, s in sorted(self.state.items()):
            if key not in current:
                continue
            rows.append(f"| {key.split('/', 1)[1]} | {', '.join(s['packages'])} | {s['origin']} "
                        f"| {s['hash']} | {s['patches']} |")
        return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--buildroot", required=True, help="the Buildroot checkout")
    ap.add_argument("--output", required=True, help="the configured output directory (O=)")
    ap.add_argument("--work", required=True,
                    help="download directory, Debian sources and override trees")
    ap.add_argument("--git", action="append", default=[], metavar="PKG=REPO@REF",
                    help="take PKG (its download directory name) from a git repository")
    ap.add_argument("--tarball", action="append", default=[], metavar="PKG=FILE",
                    help="take PKG (its download directory name) from a local tarball")
    ap.add_argument("--patch", action="append", default=[], metavar="PKG=FILE",
                    help="apply FILE (patch -p1) to PKG's overridden tree, after Buildroot's patches")
    args = ap.parse_args()
    for tool in ("apt-get", "git", "tar", "lzip", "patch"):
        if not shutil.which(tool):
            sys.exit(f"offline-sources: {tool} is missing (apt-get install {tool})")
    # One run at a time per work directory: the state file, the private
    # apt state and the trees are shared by every output.
    os.makedirs(args.work, exist_ok=True)
    lock = open(os.path.join(args.work, ".lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    a = Assembler(args)
    # gettext-tiny's GNU gettext goes into its tree: after it.
    pkgs = sorted(a.packages(), key=lambda p: p["source"].startswith("gettext-0"))
    for pkg in pkgs:
        log(f"{pkg['source']} ({', '.join(pkg['names'])})")
        a.assemble(pkg)
    override_file = a.write_override_file(pkgs)
    print(a.table(pkgs))
    print(f"\nBR2_DL_DIR=\"{a.dl}\"\nOverrides: {override_file}")
    current = {key_of(p) for p in pkgs}
    missing = [k for k, s in a.state.items()
               if k in current and not s.get("override") and s["hash"] != "matches"]
    if missing:
        sys.exit("offline-sources: no source for " + ", ".join(sorted(missing)))
    unpatched = [f"{k} (--patch {k.split('/')[0]})" for k, s in a.state.items()
                 if k in current and k.split("/")[0] in a.patches and not s.get("override")]
    if unpatched:
        log("offline-sources: not overridden, so not patched here: " + ", ".join(unpatched))
        sys.exit(PATCH_FAILED)


if __name__ == "__main__":
    main()
