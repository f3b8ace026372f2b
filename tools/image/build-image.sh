#!/usr/bin/env bash
# banger-image-build: builds a bootable guest image from Debian 12. Two
# distributions share one kernel and initramfs:
#   minimal  busybox + dropbear, from packages fetched with `apt-get download`
#            and extracted with `dpkg-deb -x`; nothing is installed on the
#            host (the default; runs without root)
#   debian   a Debian 12 minbase root filesystem made with debootstrap from
#            the host's apt mirror, with apt, OpenSSH and iproute2 (root only:
#            debootstrap and chroot); cached as a tarball
# See docs/images.md for what the images contain and how their init works.
#
# Outputs, in <home>/images/<name>/:
#   vmlinux      the Debian kernel as an uncompressed ELF: what Firecracker
#                boots, and what QEMU boots fastest (PVH entry, no
#                decompression under emulation)
#   vmlinuz      the same kernel as Debian ships it (bzImage)
#   initrd.img   busybox + the virtio/ext4/ACPI/vsock modules; mounts /dev/vda
#   rootfs.ext4  busybox init and the guest's scripts, an SSH server,
#                resize2fs, banger's SSH public key, the guest agent if given
#   manifest.txt the Debian packages (and versions) the image was made from
# and, on stdout, the values to register it with (kernel=, initrd=, rootfs=,
# boot_args=), one per line. Progress and errors go to stderr.
#
# One file on purpose (over ~400 lines): a linear build, packages -> kernel
# -> initramfs -> root filesystem (minimal or debian) -> guest scripts ->
# ext4, and the guest's own scripts (init, rcS, ready, poweroff) are
# here-documents written into the image as they are built. The CLI runs
# this script as a single installed file (banger-image-build next to the
# binaries), so it carries no companions.
set -euo pipefail

readonly PROG=banger-image-build
# The kernel command line the image needs on top of the daemon's own
# (console=ttyS0 reboot=k panic=1 pci=off ip=...). Only the initramfs reads
# root=; `quiet` keeps the slow (emulated) serial console out of boot time.
readonly BOOT_ARGS="root=/dev/vda rw quiet"
# Bump when what is cached under <cache>/kernel or <cache>/debian changes
# shape (it is part of both cache keys).
readonly KIT_VERSION=2
# Loaded by the initramfs, dependencies first (resolved below): the disk and
# network are virtio-mmio devices, the root filesystem is ext4 (which asks
# the crypto API for crc32c at mount time), and QEMU's power button is an
# ACPI button reported through evdev.
readonly MODULES=(virtio_mmio virtio_blk virtio_net crc32c_generic ext4 button evdev)
# Loaded too when the kernel has them as modules (a built-in one needs no
# loading, an absent one is skipped): the guest agent's channels, QEMU's
# virtio-serial and virtio-vsock (which pulls in vsock and
# vmw_vsock_virtio_transport_common).
readonly OPTIONAL_MODULES=(virtio_console vmw_vsock_virtio_transport)
# The debian distribution's suite and what it always installs on top of
# minbase (which has apt): the SSH server (sftp-server comes with it), `ip`,
# TLS roots, and busybox for init, acpid, hwclock and the power-off.
readonly SUITE=bookworm
readonly DEBIAN_PACKAGES=(openssh-server iproute2 ca-certificates busybox-static)
readonly DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

step() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
  cat >&2 <<EOF
usage: $PROG --home DIR --name NAME [--distro minimal|debian] [--vmm firecracker|qemu]
                          [--packages A,B,...] [--agent PATH] [--cache DIR]
                          [--size-mib N] [--tsc-khz N] [--force]

Builds <home>/images/<name>/ from Debian 12 and prints kernel=, initrd=,
rootfs=, boot_args= for \`banger image add\`.
  --distro    minimal (default: busybox + dropbear, from apt-get download) or
              debian (debootstrap minbase + apt, OpenSSH, iproute2; needs root)
  --vmm       firecracker (default) or qemu
  --packages  more Debian packages for --distro debian, comma-separated
  --agent     a static binary installed as /usr/sbin/banger-guest-agent and
              run at boot in a restart loop
  --cache     cache of .debs, kernels and debian root filesystems
              (default \${XDG_CACHE_HOME:-\$HOME/.cache}/banger)
  --size-mib  rootfs size (sparse; default 256 for minimal, 1024 for debian)
  --tsc-khz   pin tsc_early_khz= in the boot args (default: none; banger-helper
              appends the host's under TCG)
  --force     replace an existing <home>/images/<name>/
EOF
  exit 2
}

home="" name="" vmm=firecracker size_mib="" force=0 tsc_khz="" distro=minimal
extra_packages="" agent=""
cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/banger"
while [ $# -gt 0 ]; do
  case "$1" in
    --home) home="${2:?--home needs a value}"; shift 2 ;;
    --name) name="${2:?--name needs a value}"; shift 2 ;;
    --distro) distro="${2:?--distro needs a value}"; shift 2 ;;
    --vmm) vmm="${2:?--vmm needs a value}"; shift 2 ;;
    --packages) extra_packages="${2?--packages needs a value}"; shift 2 ;;
    --agent) agent="${2:?--agent needs a value}"; shift 2 ;;
    --cache) cache="${2:?--cache needs a value}"; shift 2 ;;
    --size-mib) size_mib="${2:?--size-mib needs a value}"; shift 2 ;;
    --tsc-khz) tsc_khz="${2:?--tsc-khz needs a value}"; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    *) printf '%s: error: unknown argument %s\n' "$PROG" "$1" >&2; usage ;;
  esac
done
[ -n "$home" ] && [ -n "$name" ] || usage
[[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || die "invalid image name '$name': use [a-z0-9][a-z0-9-]{0,62}"
[[ "$distro" == minimal || "$distro" == debian ]] || die "--distro must be minimal or debian, not '$distro'"
[[ "$vmm" == firecracker || "$vmm" == qemu ]] || die "--vmm must be firecracker or qemu, not '$vmm'"
if [ -z "$size_mib" ]; then
  size_mib=256
  [ "$distro" = minimal ] || size_mib=1024
fi
# The debian tree's own size is checked once it is known (below).
[[ "$size_mib" =~ ^[0-9]{1,7}$ ]] && [ "$size_mib" -ge 32 ] || die "--size-mib must be a number >= 32"
[[ -z "$tsc_khz" || "$tsc_khz" =~ ^[1-9][0-9]{5,7}$ ]] || die "--tsc-khz must be a frequency in kHz, e.g. 2100000"
[[ -z "${SOURCE_DATE_EPOCH:-}" || "$SOURCE_DATE_EPOCH" =~ ^[0-9]{1,12}$ ]] ||
  die "SOURCE_DATE_EPOCH must be seconds since 1970, not '$SOURCE_DATE_EPOCH'"

# --packages: Debian package names only (they reach apt-get's argv inside
# the chroot), at most 100.
user_packages=()
if [ -n "$extra_packages" ]; then
  [ "$distro" = debian ] || die "--packages needs --distro debian (the minimal image has no package manager)"
  [ "${#extra_packages}" -le 4096 ] || die "--packages is longer than 4096 characters"
  IFS=, read -r -a user_packages <<<"$extra_packages"
  [ "${#user_packages[@]}" -le 100 ] || die "--packages names more than 100 packages"
  for p in "${user_packages[@]}"; do
    [[ "$p" =~ ^[a-z0-9][a-z0-9+.-]{1,99}$ ]] ||
      die "--packages: '$p' is not a Debian package name ([a-z0-9][a-z0-9+.-]+)"
  done
fi

# --agent: a static x86-64 ELF executable (the guest has no loader of the
# host's), at most 64 MiB.
if [ -n "$agent" ]; then
  [ -f "$agent" ] && [ -r "$agent" ] || die "--agent $agent is not a readable regular file"
  [ "$(stat -L -c %s "$agent")" -le $((64 << 20)) ] || die "--agent $agent is larger than 64 MiB"
  readelf -hW "$agent" 2>/dev/null | grep -q 'Machine:.*X86-64' ||
    die "--agent $agent is not an x86-64 ELF file"
  ! readelf -lW "$agent" 2>/dev/null | grep -q 'Requesting program interpreter' ||
    die "--agent $agent is dynamically linked; the guest needs a static binary"
fi

home="$(cd "$home" 2>/dev/null && pwd)" || die "home $home does not exist"
images="$home/images"
pubkey="$home/state/ssh/id_ed25519.pub"
[ -d "$images" ] || die "$images does not exist: is $home a banger home? (banger init --home $home)"
[ -r "$pubkey" ] || die "no SSH public key at $pubkey: run banger init --home $home first"
out="$images/$name"
if [ -e "$out" ] && [ "$force" -eq 0 ]; then
  die "$out already exists; remove it (and \`banger image rm $name\`) or pass --force"
fi

tools=(apt-get apt-cache dpkg-deb mkfs.ext4 debugfs cpio readelf sha256sum truncate xz gzip zstd grep)
[ "$distro" = minimal ] || tools+=(debootstrap chroot tar du)
for t in "${tools[@]}"; do
  command -v "$t" >/dev/null || die "missing host tool '$t' (tools/install-deps.sh installs it)"
done
[ "$(dpkg --print-architecture)" = amd64 ] || die "only amd64 hosts are supported"
if [ "$distro" = debian ] && [ "$(id -u)" -ne 0 ]; then
  die "--distro debian needs root (debootstrap, chroot and file ownership in the tree)"
fi

started=$(date +%s%N)
work="$(mktemp -d "${TMPDIR:-/tmp}/banger-image.XXXXXX")"
partial="$images/.$name.partial.$$"
chroot_proc="" # a proc mounted in a chroot being built: unmounted before rm
cleanup() {
  [ -z "$chroot_proc" ] || umount "$chroot_proc" 2>/dev/null || umount -l "$chroot_proc" 2>/dev/null || true
  # --one-file-system: should an unmount have failed, rm stops at it.
  rm -rf --one-file-system "$work" "$partial" "${kit:-}.partial.$$" "${root_tar:-}.partial.$$"
}
trap cleanup EXIT

mib_of() { du -sx --block-size=1M "$1" | cut -f1; } # DIR: MiB allocated beneath it

# -- packages -----------------------------------------------------------------

# The versioned kernel package (linux-image-6.1.0-NN-amd64) the metapackage
# points at; its name is also the module directory's.
kernel_pkg="$(apt-cache depends linux-image-amd64 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)"
[ -n "$kernel_pkg" ] || die "apt does not know linux-image-amd64's kernel; run apt-get update"
kver="${kernel_pkg#linux-image-}"

# Both distributions take the kernel and busybox (the initramfs's) from
# here. For minimal, also the rootfs's programs: the shared libraries of
# dropbear and resize2fs come from their Depends closure; which of their
# files are needed is decided later from the binaries' DT_NEEDED entries.
# openssh-sftp-server (what makes scp and sftp work: dropbear runs it as its
# sftp subsystem) needs only libc, so its own Depends (the whole OpenSSH
# client) are left out.
packages=("$kernel_pkg" busybox-static)
lib_pkgs=()
if [ "$distro" = minimal ]; then
  mapfile -t lib_pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances dropbear-bin e2fsprogs 2>/dev/null |
    grep -v '^ ' | grep -v '^<' | grep -vx -e dropbear-bin -e e2fsprogs)
  [ ${#lib_pkgs[@]} -gt 0 ] || die "apt does not know dropbear-bin; run apt-get update"
  packages+=(dropbear-bin openssh-sftp-server e2fsprogs "${lib_pkgs[@]}")
fi

debcache="$cache/debs"
mkdir -p "$debcache" || die "cannot create the package cache $debcache"
step "packages: ${packages[*]}"
# --print-uris names each .deb with its size and SHA256: a cached file that
# matches is reused, anything else is (re)downloaded.
uris="$(apt-get download --print-uris "${packages[@]}" 2>"$work/apt.err")" ||
  die "apt-get download --print-uris failed: $(tr '\n' ' ' <"$work/apt.err")"
debs=() fetch=() kernel_deb=""
while read -r _url file _size hash; do
  [ -n "$file" ] || continue
  debs+=("$debcache/$file")
  [[ "$file" != "${kernel_pkg}_"* ]] || kernel_deb="$debcache/$file"
  if [ -f "$debcache/$file" ] &&
     [ "sha256:$(sha256sum "$debcache/$file" | cut -d' ' -f1)" = "${hash,,}" ]; then
    continue
  fi
  fetch+=("${file%%_*}")
done <<<"$uris"
[ -n "$kernel_deb" ] || die "apt-get did not offer $kernel_pkg"
if [ ${#fetch[@]} -gt 0 ]; then
  step "downloading ${fetch[*]} into $debcache"
  # As root, apt drops to the _apt user, which may not be able to write to a
  # cache under /root; the files are checked against their SHA256 anyway.
  sandbox=()
  [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
  (cd "$debcache" && apt-get download -q "${sandbox[@]}" "${fetch[@]}" >"$work/apt.log" 2>&1) ||
    die "apt-get download ${fetch[*]} failed: $(tail -n 5 "$work/apt.log" | tr '\n' ' ')"
else
  step "all packages already in $debcache"
fi
for deb in "${debs[@]}"; do
  [ -f "$deb" ] || die "expected $deb after the download"
done

# Everything but the kernel is small: extracted on every build.
pkgroot="$work/pkgs"
mkdir -p "$pkgroot"
for deb in "${debs[@]}"; do
  [ "$deb" = "$kernel_deb" ] || dpkg-deb -x "$deb" "$pkgroot" || die "dpkg-deb -x $deb failed"
done
busybox="$pkgroot/bin/busybox"
[ -x "$busybox" ] || die "busybox-static has no /bin/busybox"

# -- kernel -------------------------------------------------------------------

# Like Linux's scripts/extract-vmlinux: find a compression magic in the
# bzImage, decompress from there (trailing data makes the decompressor
# complain, which is expected) and keep the first result that is an ELF file.
extract_vmlinux() {
  local image="$1" target="$2" magic tool offset
  local -a candidates=(
    '\x1f\x8b\x08' 'gzip -dc'
    '\xfd7zXZ\x00' 'xz -dc'
    '\x28\xb5\x2f\xfd' 'zstd -dc'
    '\x5d\x00\x00\x00' 'xz -dc --format=lzma'
    'BZh' 'bzip2 -dc'
    '\x02\x21\x4c\x18' 'lz4 -dc'
  )
  while [ ${#candidates[@]} -gt 0 ]; do
    magic="${candidates[0]}" tool="${candidates[1]}"
    candidates=("${candidates[@]:2}")
    command -v "${tool%% *}" >/dev/null || continue
    for offset in $(LC_ALL=C grep -obUaP "$magic" "$image" | cut -d: -f1); do
      tail -c "+$((offset + 1))" "$image" | $tool >"$target" 2>/dev/null || true
      if [ "$(head -c 4 "$target" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        return 0
      fi
    done
  done
  return 1
}

module_field() { # FILE FIELD: a .modinfo field of an uncompressed module
  tr '\0' '\n' <"$1" | sed -n "s/^$2=//p" | head -n1
}

# The kernel package is 70 MB of .deb and 400 MB unpacked, of which an image
# needs the bzImage and about a dozen modules: what one build takes from it
# (vmlinuz, vmlinux, the modules in load order) is kept under <cache>/kernel,
# keyed by the .deb and the module list, so later builds skip it.
build_kernel_kit() { # KIT_DIR
  local kit="$1" kroot="$work/kernel" vmlinuz moddir ko base m
  step "extracting $kernel_pkg"
  mkdir -p "$kroot" "$kit/modules"
  dpkg-deb -x "$kernel_deb" "$kroot" || die "dpkg-deb -x $kernel_deb failed"
  vmlinuz="$kroot/boot/vmlinuz-$kver"
  moddir="$kroot/lib/modules/$kver"
  [ -f "$vmlinuz" ] || die "$kernel_pkg has no /boot/vmlinuz-$kver"
  [ -d "$moddir" ] || die "$kernel_pkg has no /lib/modules/$kver"
  cp "$vmlinuz" "$kit/vmlinuz"
  step "extracting the uncompressed ELF vmlinux from the bzImage"
  extract_vmlinux "$vmlinuz" "$kit/vmlinux" || die "no compressed ELF kernel found in $vmlinuz"

  # Module name -> file, names normalized the way the kernel does (- is _).
  declare -A module_file=() module_done=()
  local -a order=()
  while IFS= read -r ko; do
    base="${ko##*/}"
    base="${base%%.ko*}"
    module_file["${base//-/_}"]="$ko"
  done < <(find "$moddir/kernel" -name '*.ko*')
  add_module() { # depth-first, dependencies before the module itself
    local m="${1//-/_}" dep file
    [ -z "${module_done[$m]:-}" ] || return 0
    module_done[$m]=1
    file="${module_file[$m]:-}"
    [ -n "$file" ] || die "module $m is not in $kernel_pkg (built in? see /boot/config-$kver)"
    case "$file" in
      *.ko) cp "$file" "$kit/modules/$m.ko" ;;
      *.ko.xz) xz -dc "$file" >"$kit/modules/$m.ko" ;;
      *.ko.zst) zstd -qdc "$file" >"$kit/modules/$m.ko" ;;
      *.ko.gz) gzip -dc "$file" >"$kit/modules/$m.ko" ;;
      *) die "unknown module format: $file" ;;
    esac
    for dep in $(module_field "$kit/modules/$m.ko" depends | tr ',' ' '); do
      add_module "$dep"
    done
    order+=("$m")
  }
  for m in "${MODULES[@]}"; do add_module "$m"; done
  for m in "${OPTIONAL_MODULES[@]}"; do
    if [ -n "${module_file[$m]:-}" ]; then
      add_module "$m"
    else
      step "module $m is not a module of $kernel_pkg (built in, or absent: see /boot/config-$kver); not loaded"
    fi
  done
  printf '%s\n' "${order[@]}" >"$kit/modules.order"
  rm -rf "$kroot"
}

kit_key="$(printf '%s\n' "$KIT_VERSION" "${kernel_deb##*/}" "${MODULES[@]}" "${OPTIONAL_MODULES[@]}" | sha256sum | cut -c1-16)"
kit="$cache/kernel/$kver-$kit_key"
if [ -f "$kit/modules.order" ] && [ -f "$kit/vmlinux" ]; then
  step "kernel $kver from $kit"
else
  rm -rf "$kit.partial.$$"
  build_kernel_kit "$kit.partial.$$"
  rm -rf "$kit"
  mv "$kit.partial.$$" "$kit" || die "cannot store the kernel in $kit"
fi
mapfile -t module_order <"$kit/modules.order"
step "initramfs modules: ${module_order[*]}"
mkdir -p "$partial"
cp "$kit/vmlinux" "$kit/vmlinuz" "$partial/"

# -- initramfs ----------------------------------------------------------------

initramfs="$work/initramfs"
mkdir -p "$initramfs"/{bin,dev,proc,sys,newroot,lib/modules,etc}
cp "$busybox" "$initramfs/bin/busybox"
for m in "${module_order[@]}"; do cp "$kit/modules/$m.ko" "$initramfs/lib/modules/"; done
printf '%s\n' "${module_order[@]}" >"$initramfs/etc/modules"
cat >"$initramfs/init" <<'EOF'
#!/bin/busybox sh
# banger initramfs: load the drivers Debian builds as modules, mount the root
# disk and hand over to its /sbin/init.
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys

# Without ACPI S5 (Firecracker) a power-off only halts the CPU; a reset
# (reboot=k) is what makes Firecracker exit. QEMU has S5.
off() {
  sync
  if grep -q _S5_ /sys/firmware/acpi/tables/DSDT 2>/dev/null; then poweroff -f; fi
  reboot -f
}
fail() {
  echo "banger-initramfs: error: $*"
  off
}

# insmod does not read the kernel command line the way modprobe does:
# module.param=value words are handed to their module here. (Debian builds
# virtio_mmio without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES: it ignores
# virtio_mmio.device= and finds its devices in the ACPI DSDT, which QEMU's
# microvm and Firecracker >= 1.8 both provide.)
cmdline="$(cat /proc/cmdline)"
for m in $(cat /etc/modules); do
  args=""
  for arg in $cmdline; do
    case "$arg" in "$m".*=*) args="$args ${arg#*.}" ;; esac
  done
  insmod "/lib/modules/$m.ko" $args || fail "insmod $m$args failed"
done

root=/dev/vda mode=rw fstype=ext4
for arg in $cmdline; do
  case "$arg" in
    root=*) root="${arg#root=}" ;;
    rootfstype=*) fstype="${arg#rootfstype=}" ;;
    ro) mode=ro ;;
    rw) mode=rw ;;
  esac
done
# virtio-mmio devices probe asynchronously: give the disk up to 10 s.
i=0
while [ ! -b "$root" ]; do
  i=$((i + 1))
  [ "$i" -le 1000 ] || fail "root device $root did not appear (is a virtio-blk disk attached?)"
  usleep 10000
done
mount -t "$fstype" -o "$mode" "$root" /newroot || fail "cannot mount $root ($fstype, $mode)"
# An absolute symlink (systemd-sysv's /sbin/init -> /lib/systemd/systemd)
# points into this initramfs until switch_root: its target is not checked.
[ -x /newroot/sbin/init ] || [ -L /newroot/sbin/init ] || fail "$root has no /sbin/init"
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot /sbin/init
EOF
chmod 0755 "$initramfs/init"
step "writing initrd.img"
(cd "$initramfs" && find . -print0 | LC_ALL=C sort -z |
  cpio --quiet -o -0 -H newc -R 0:0 >"$partial/initrd.img") || die "cpio failed"

# -- root filesystem: minimal -------------------------------------------------

rootfs="$work/rootfs"
build_minimal_rootfs() {
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc/dropbear,dev,proc,sys,run,tmp,var/log,root,lib64}
  ln -s ../run "$rootfs/var/run"
  cp "$busybox" "$rootfs/bin/busybox"
  # Applet links exactly where busybox's own --install would put them.
  local applet bin
  for applet in $("$busybox" --list-full); do
    [ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
  done
  mkdir -p "$rootfs/usr/lib/openssh"
  for bin in usr/sbin/dropbear usr/bin/dropbearkey usr/lib/openssh/sftp-server sbin/resize2fs; do
    [ -x "$pkgroot/$bin" ] || die "no /$bin in the extracted packages"
    rm -f "$rootfs/$bin" # busybox may have an applet link of that name
    cp "$pkgroot/$bin" "$rootfs/$bin"
  done
  # Debian's dropbear starts its sftp subsystem as /usr/lib/sftp-server.
  ln -s openssh/sftp-server "$rootfs/usr/lib/sftp-server"

  # Shared libraries: the DT_NEEDED closure of the binaries, taken from the
  # extracted packages (never from the host), plus the program interpreter.
  libdirs=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu)
  declare -A lib_done=()
  copy_needed() {
    local elf="$1" soname dir found
    for soname in $(readelf -dW "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [ -z "${lib_done[$soname]:-}" ] || continue
      lib_done[$soname]=1
      found=""
      for dir in "${libdirs[@]}"; do
        if [ -e "$pkgroot/$dir/$soname" ]; then found="$dir/$soname"; break; fi
      done
      [ -n "$found" ] || die "$soname (needed by ${elf##*/}) is in none of: ${lib_pkgs[*]}"
      mkdir -p "$rootfs/${found%/*}"
      cp -L "$pkgroot/$found" "$rootfs/$found"
      copy_needed "$rootfs/$found"
    done
  }
  copy_needed "$rootfs/usr/sbin/dropbear"
  copy_needed "$rootfs/usr/bin/dropbearkey"
  copy_needed "$rootfs/usr/lib/openssh/sftp-server"
  copy_needed "$rootfs/sbin/resize2fs"
  local interp
  interp="$(readelf -lW "$rootfs/usr/sbin/dropbear" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')"
  [ "$interp" = /lib64/ld-linux-x86-64.so.2 ] || die "unexpected program interpreter '$interp'"
  cp -L "$pkgroot/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$rootfs/lib/x86_64-linux-gnu/"
  ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$rootfs/lib64/ld-linux-x86-64.so.2"
  step "rootfs libraries: ${!lib_done[*]}"

  # Accounts: root only, no password (dropbear runs with -s: keys only).
  echo 'root:*:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  echo 'root:x:0:' >"$rootfs/etc/group"
  echo '/bin/sh' >"$rootfs/etc/shells"
  # busybox is static glibc: its name lookups (wget, ping) read nsswitch.conf,
  # hosts and resolv.conf. Without these, every name is a "bad address" and
  # even localhost does not resolve. rcS rewrites hosts and resolv.conf at
  # every boot from the kernel command line.
  printf 'hosts: files dns\nnetworks: files\n' >"$rootfs/etc/nsswitch.conf"
  # resize2fs (and mount) look for the mount table here.
  ln -s /proc/self/mounts "$rootfs/etc/mtab"
  chmod 1777 "$rootfs/tmp"
  chmod 0700 "$rootfs/root"
  for deb in "${debs[@]}"; do
    dpkg-deb --show --showformat='${Package} ${Version}\n' "$deb"
  done >"$work/manifest.txt"
}

# -- root filesystem: debian --------------------------------------------------

# The first http(s) deb URI the host's apt lists for SUITE, in sources.list,
# *.list or deb822 *.sources files; "" if none.
host_mirror() { # SUITE
  local suite="$1" f
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -r "$f" ] || continue
      # deb [options] URI SUITE COMPONENT...
      awk -v s="$suite" '$1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s) print $i
      }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -r "$f" ] || continue
      awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
      {
        types = uris = suites = ""; enabled = "yes"
        for (j = 1; j <= NF; j++) {
          if ($j ~ /^#/) continue
          key = tolower($j); sub(/:.*/, "", key)
          val = $j; sub(/^[^:]*:[ \t]*/, "", val)
          if (key == "types") types = val
          else if (key == "uris") uris = val
          else if (key == "suites") suites = val
          else if (key == "enabled") enabled = tolower(val)
        }
        if (enabled == "no" || (" " types " ") !~ / deb /) next
        if ((" " suites " ") !~ (" " s " ")) next
        split(uris, u, /[ \t]+/); print u[1]
      }' "$f"
    done
  } | grep -E -m1 '^https?://[A-Za-z0-9.:/_~%+-]+$' || true
}

# Runs a command in the chroot with a clean environment.
in_chroot() { # ROOT CMD...
  local root="$1"
  shift
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# debootstrap minbase, then apt inside it: the point release from the
# mirror, updates and security fixes on top, then the packages. Everything
# host-specific the chroot needed (resolv.conf, policy-rc.d) and everything
# a VM must not share (SSH host keys) is removed before the tree is cached.
build_debian_tree() { # ROOT
  local root="$1" t0 apt_opts log="$work/chroot.log" stamp
  t0=$(date +%s)
  step "debootstrap --variant=minbase $SUITE from $mirror (a few minutes)"
  debootstrap --variant=minbase --arch=amd64 --keyring="$DEBIAN_KEYRING" "$SUITE" "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 ||
    die "debootstrap failed: $(grep -E '^(E|W):' "$work/debootstrap.log" | tail -n 3 | tr '\n' ' ')"
  step "debootstrap done in $(($(date +%s) - t0)) s: $(mib_of "$root") MiB"

  {
    echo "deb $mirror $SUITE main"
    echo "deb $mirror $SUITE-updates main"
    echo "deb $security_mirror $SUITE-security main"
  } >"$root/etc/apt/sources.list"
  # Services a package installs are not started in the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  mount -t proc proc "$root/proc" || die "cannot mount proc in $root"
  chroot_proc="$root/proc"
  apt_opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef
            -o Dpkg::Options::=--force-confold)
  step "apt-get update, upgrade, install ${install_packages[*]}"
  {
    in_chroot "$root" apt-get update -q &&
      in_chroot "$root" apt-get "${apt_opts[@]}" dist-upgrade &&
      in_chroot "$root" apt-get "${apt_opts[@]}" install "${install_packages[@]}" &&
      in_chroot "$root" apt-get clean
  } >"$log" 2>&1 || die "apt-get in the chroot failed: $(grep -E '^(E|W):' "$log" | tail -n 3 | tr '\n' ' ')"
  umount "$root/proc" || die "cannot unmount $root/proc"
  chroot_proc=""

  # The archive's own date stamps the tree (SOURCE_DATE_EPOCH wins): the
  # same archive state gives the same timestamps.
  stamp="$(sed -n 's/^Date: //p' "$root"/var/lib/apt/lists/*_dists_"$SUITE"_InRelease 2>/dev/null | head -n1)"
  epoch="${SOURCE_DATE_EPOCH:-$(date -d "$stamp" +%s 2>/dev/null || date +%s)}"
  rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf" "$root"/etc/ssh/ssh_host_*
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
    "$root"/var/log/apt/* "$root/var/log/dpkg.log" "$root/var/log/alternatives.log" \
    "$root/var/log/bootstrap.log" "$root/root/.bash_history"
  find "$root" -xdev -newermt "@$epoch" -exec touch -h -d "@$epoch" {} +
  step "debian tree ready in $(($(date +%s) - t0)) s: $(mib_of "$root") MiB"
}

build_debian_rootfs() {
  [ -r "$DEBIAN_KEYRING" ] || die "no $DEBIAN_KEYRING to check the archive with (apt install debian-archive-keyring)"
  mirror="$(host_mirror "$SUITE")"
  security_mirror="$(host_mirror "$SUITE-security")"
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  [ -n "$security_mirror" ] || security_mirror=http://deb.debian.org/debian-security
  mapfile -t install_packages < <(printf '%s\n' "${DEBIAN_PACKAGES[@]}" "${user_packages[@]}" |
    LC_ALL=C sort -u)
  # The tarball's key: what goes in (suite, packages) and the layout's
  # version. The mirror is not part of it: any mirror serves the same suite.
  local key
  key="$(printf '%s\n' "$KIT_VERSION" "$SUITE" "${install_packages[@]}" | sha256sum | cut -c1-16)"
  root_tar="$cache/debian/$SUITE-$key.tar.zst"
  mkdir -p "$cache/debian" || die "cannot create $cache/debian"
  if [ -f "$root_tar" ]; then
    step "using the cached root filesystem $root_tar ($(($(stat -c %s "$root_tar") >> 20)) MiB)"
  else
    local tree="$work/debian-tree"
    mkdir -p "$tree"
    build_debian_tree "$tree"
    step "writing the root filesystem cache $root_tar"
    tar -C "$tree" --sort=name --numeric-owner --xattrs --xattrs-include='*' -cf - . |
      zstd -q -T0 -6 -o "$root_tar.partial.$$" || die "cannot write $root_tar"
    mv "$root_tar.partial.$$" "$root_tar"
    rm -rf --one-file-system "$tree"
  fi
  mkdir -p "$rootfs"
  zstd -qdc "$root_tar" | tar -C "$rootfs" --numeric-owner --xattrs --xattrs-include='*' -xpf - ||
    die "cannot unpack $root_tar (remove it to rebuild)"
  # The tree's newest timestamp is its epoch (clamped when it was made).
  epoch="$(stat -c %Y "$rootfs/var/lib/dpkg/status")"
  step "root filesystem tree: $(mib_of "$rootfs") MiB"

  # busybox is init (the same inittab and scripts as the minimal image; see
  # docs/images.md for the boot times that chose it over systemd), and
  # power-off, reboot and halt typed in the guest ask it to shut down.
  [ -x "$rootfs/bin/busybox" ] || die "busybox-static left no /bin/busybox in the tree"
  local cmd
  for cmd in init poweroff reboot halt; do
    [ -e "$rootfs/sbin/$cmd" ] || ln -s /bin/busybox "$rootfs/sbin/$cmd"
  done
  # Keys only, and only the ed25519 host key rcS makes at first boot (an
  # RSA key takes seconds to make under emulation).
  mkdir -p "$rootfs/etc/ssh/sshd_config.d"
  cat >"$rootfs/etc/ssh/sshd_config.d/banger.conf" <<'EOF'
# banger: the home's key for root, the host key made at first boot.
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
EOF
  echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$rootfs/etc/fstab"
  {
    printf '%s %s\n' "$kernel_pkg" "$(dpkg-deb --show --showformat='${Version}' "$kernel_deb")"
    dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f '${Package} ${Version}\n'
  } >"$work/manifest.txt" || die "dpkg-query in the tree failed"
}

# -- root filesystem: what both distributions share ---------------------------

epoch="${SOURCE_DATE_EPOCH:-}"
if [ "$distro" = minimal ]; then build_minimal_rootfs; else build_debian_rootfs; fi

mkdir -p "$rootfs"/{etc/banger,etc/acpi/PWRF,root/.ssh,usr/sbin}
echo 'banger' >"$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n' >"$rootfs/etc/hosts"
cp "$pubkey" "$rootfs/root/.ssh/authorized_keys"
if [ -n "$agent" ]; then
  cp "$agent" "$rootfs/usr/sbin/banger-guest-agent"
  chmod 0755 "$rootfs/usr/sbin/banger-guest-agent"
  step "guest agent: $agent ($(($(stat -L -c %s "$agent") >> 10)) KiB) as /usr/sbin/banger-guest-agent"
fi

cat >"$rootfs/etc/inittab" <<'EOF'
# busybox init. No respawn entries: a power-off must not race init
# restarting what it just stopped.
::sysinit:/etc/banger/rcS
::once:/etc/banger/ready
::ctrlaltdel:/etc/banger/poweroff
::shutdown:/bin/umount -a -r
EOF

# The scripts run on both distributions: on Debian, /bin/sh is dash and
# the tools are Debian's (iproute2's ip, util-linux's mount), so busybox is
# named where only it has the applet (hwclock, acpid, poweroff -f) and
# sleep takes fractions (both sleeps accept them).
cat >"$rootfs/etc/banger/rcS" <<'EOF'
#!/bin/sh
# banger guest start-up: file systems (the root one grown to its disk), network,
# hostname and DNS from ip= on the kernel command line, the guest agent, SSH
# host key (made once per VM, kept in the rootfs), the SSH server, acpid.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
[ -e /proc/self ] || mount -t proc proc /proc
[ -d /sys/kernel ] || mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp

# ip=<client>:<server>:<gateway>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1>
ipconf="" root=/dev/vda
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    ip=*) ipconf="${arg#ip=}" ;;
    root=/dev/*) root="${arg#root=}" ;;
  esac
done
IFS=: read -r client server gateway netmask host device autoconf dns0 dns1 rest <<IP
$ipconf
IP

# `vm create --disk` makes the disk larger than the file system on it: grow
# it to the disk, online. Nothing to do (the usual case) costs one
# superblock read.
resize2fs "$root" >/run/resize2fs.log 2>&1 ||
  echo "banger-guest: error: resize2fs $root failed: $(tail -n 1 /run/resize2fs.log)"

# The VM's name (banger passes it), else the image's.
if [ -n "$host" ]; then
  echo "$host" >/etc/hostname
fi
host="$(cat /etc/hostname)"
hostname "$host"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$host" >/etc/hosts
# DNS servers as banger passes them (network.dns); none: no resolv.conf, so
# nothing stale from an earlier boot is used.
rm -f /etc/resolv.conf
for ns in $dns0 $dns1; do echo "nameserver $ns" >>/etc/resolv.conf; done
ip link set lo up
if [ -n "$client" ]; then
  device="${device:-eth0}"
  i=0
  while [ ! -e "/sys/class/net/$device" ] && [ "$i" -lt 500 ]; do i=$((i + 1)); sleep 0.01; done
  prefix=32
  if [ -n "$netmask" ]; then
    prefix=0
    for octet in $(echo "$netmask" | tr . ' '); do
      while [ "$octet" -gt 0 ]; do prefix=$((prefix + (octet & 1))); octet=$((octet >> 1)); done
    done
  fi
  ip addr add "$client/$prefix" dev "$device" || echo "banger-guest: error: cannot set $client/$prefix on $device"
  ip link set "$device" up
  [ -z "$gateway" ] || ip route add default via "$gateway" dev "$device" ||
    echo "banger-guest: error: cannot add the default route via $gateway"
else
  echo "banger-guest: no ip= on the kernel command line; network left down"
fi

# The guest agent, before the SSH server, restarted a second after it
# exits. Its output goes to a file holding its last run only: a crash loop
# must neither fill /run nor flood the serial console.
if [ -x /usr/sbin/banger-guest-agent ]; then
  (
    while :; do
      /usr/sbin/banger-guest-agent </dev/null >/run/banger-guest-agent.log 2>&1
      sleep 1
    done
  ) &
fi

/etc/banger/ssh-server start
# QEMU's power button (system_powerdown) arrives as an evdev key event.
ls /dev/input/event* >/dev/null 2>&1 &&
  busybox acpid -c /etc/acpi -l /run/acpid.log -p /run/acpid.pid
# The wall clock after a pause, suspend or restore: the guest counts no time
# while it is stopped, so its clock comes back behind the host's by that
# long, while the emulated RTC follows the host's clock. Every 2 s a clock
# more than 2 s off the RTC is set from it (a clock within 2 s is left
# alone: the RTC has whole seconds only).
if [ -r /sys/class/rtc/rtc0/since_epoch ]; then
  (
    while sleep 2; do
      rtc=$(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null) || continue
      off=$((rtc - $(date +%s)))
      [ "${off#-}" -gt 2 ] && busybox hwclock -s -u
    done
  ) </dev/null >/dev/null 2>&1 &
fi
exit 0
EOF

cat >"$rootfs/etc/banger/ssh-server" <<'EOF'
#!/bin/sh
# The guest's SSH server. `start` (at boot): its ed25519 host key, made
# once per VM and kept in the rootfs, then the server. `rekey` (the guest
# agent, when a clone takes its own identity): the host keys replaced and
# the server made to use the new one for every new connection; sessions
# open now go on.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mode="${1:-start}"
case "$mode" in start | rekey) ;; *) echo "usage: $0 start|rekey" >&2; exit 2 ;; esac
# One at a time: a clone's rekey may come while the start-up it was cloned
# during still starts the server.
exec 9>/run/banger-ssh-server.lock
command -v flock >/dev/null 2>&1 && flock 9
host="$(cat /etc/hostname 2>/dev/null)"
if [ -x /usr/sbin/sshd ]; then
  key=/etc/ssh/ssh_host_ed25519_key
  [ "$mode" = rekey ] && rm -f /etc/ssh/ssh_host_*
  if [ ! -s "$key" ]; then
    rm -f "$key.new" "$key.new.pub"
    if ! ssh-keygen -q -t ed25519 -N '' -C "root@$host" -f "$key.new" ||
      ! mv "$key.new.pub" "$key.pub" || ! mv "$key.new" "$key"; then
      echo "banger-guest: error: ssh-keygen failed"
      exit 1
    fi
    sync
  fi
  if [ "$mode" = rekey ]; then
    # sshd re-executes itself on SIGHUP, reading its host keys again.
    [ -s /run/sshd.pid ] && kill -HUP "$(cat /run/sshd.pid)"
    exit 0
  fi
  mkdir -p /run/sshd
  chmod 0755 /run/sshd
  /usr/sbin/sshd || { echo "banger-guest: error: sshd did not start"; exit 1; }
else
  key=/etc/dropbear/dropbear_ed25519_host_key
  [ "$mode" = rekey ] && rm -f /etc/dropbear/*host_key*
  if [ ! -s "$key" ]; then
    rm -f "$key.new"
    if ! dropbearkey -t ed25519 -f "$key.new" >/dev/null 2>&1 || ! mv "$key.new" "$key"; then
      echo "banger-guest: error: dropbearkey failed"
      exit 1
    fi
    sync
  fi
  if [ "$mode" = rekey ] && [ -s /run/dropbear.pid ]; then
    # dropbear reads its key once: its listener is replaced (the sessions it
    # forked are processes of their own and go on), once the old one has
    # let go of port 22.
    pid="$(cat /run/dropbear.pid)"
    kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do i=$((i + 1)); sleep 0.02; done
  fi
  dropbear -s -p 22 -r "$key" -P /run/dropbear.pid ||
    { echo "banger-guest: error: dropbear did not start"; exit 1; }
fi
EOF

cat >"$rootfs/etc/banger/ready" <<'EOF'
#!/bin/sh
# Prints the readiness line once the SSH server listens on port 22 (LISTEN = 0A).
i=0
while ! grep -q ':0016 00000000:0000 0A' /proc/net/tcp 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt 1500 ]; then
    echo "banger-guest: error: nothing listens on port 22 after 30 s" >/dev/console
    exit 1
  fi
  sleep 0.02
done
echo "banger-guest: ready" >/dev/console
EOF

cat >"$rootfs/etc/banger/poweroff" <<'EOF'
#!/bin/sh
# Clean power-off on a VMM's stop request: QEMU's ACPI power button (acpid)
# or Firecracker's Ctrl-Alt-Del (init's ctrlaltdel). One process on purpose:
# `kill -1` spares only init and the caller.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
echo "banger-guest: powering off" >/dev/console
# Without ACPI S5 (Firecracker) a power-off only halts the CPU; a reset
# (reboot=k) is what makes Firecracker exit. QEMU has S5. Decided before
# /sys goes away.
off=reboot
grep -q _S5_ /sys/firmware/acpi/tables/DSDT 2>/dev/null && off=poweroff
kill -TERM -1 2>/dev/null
# The root file system goes read-only once nothing writes to it any more;
# give the processes up to 2 s to exit, then kill what is left.
i=0
while ! mount -o remount,ro / 2>/dev/null && [ "$i" -lt 40 ]; do i=$((i + 1)); sleep 0.05; done
kill -KILL -1 2>/dev/null
sync
umount -a -r 2>/dev/null
mount -o remount,ro / 2>/dev/null
busybox "$off" -f
EOF
# busybox acpid runs /etc/acpi/<event>/<value> for the power button.
cat >"$rootfs/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
exec /etc/banger/poweroff
EOF
chmod 0755 "$rootfs"/etc/banger/* "$rootfs/etc/acpi/PWRF/00000080"
chmod 0700 "$rootfs/root" "$rootfs/root/.ssh"
chmod 0600 "$rootfs/root/.ssh/authorized_keys"

# Files written by this build carry the epoch too (when there is one):
# with the same inputs, the same tree.
if [ -n "$epoch" ]; then
  find "$rootfs" -xdev -newermt "@$epoch" -exec touch -h -d "@$epoch" {} +
fi

used_mib="$(mib_of "$rootfs")"
# ext4's own needs on top of the files: inode tables, the journal, the 1 %
# reserve, and room for the first boot (host key, logs).
min_mib=$((used_mib + used_mib / 4 + 96))
[ "$size_mib" -ge "$min_mib" ] ||
  die "--size-mib $size_mib is too small for this $distro root filesystem: its files take $used_mib MiB, so at least $min_mib"
step "writing rootfs.ext4 (${size_mib} MiB, sparse; $used_mib MiB of files)"
truncate -s "${size_mib}M" "$partial/rootfs.ext4"
mkfs_opts=(-q -F -L banger-root -b 4096 -m 1 -E root_owner=0:0)
if [ -n "$epoch" ]; then
  # A fixed UUID, hash seed and creation time: mkfs's only other sources of
  # difference between two builds of the same tree.
  uuid="$(printf '%s\n' "$epoch" "$name" | cat - "$work/manifest.txt" | sha256sum |
    sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)\(.\{12\}\).*/\1-\2-\3-\4-\5/')"
  mkfs_opts=(-q -F -L banger-root -b 4096 -m 1 -U "$uuid" -E "root_owner=0:0,hash_seed=$uuid")
  export E2FSPROGS_FAKE_TIME="$epoch"
fi
mkfs.ext4 "${mkfs_opts[@]}" -d "$rootfs" "$partial/rootfs.ext4" \
  >"$work/mkfs.log" 2>&1 || die "mkfs.ext4 failed: $(tr '\n' ' ' <"$work/mkfs.log")"
unset E2FSPROGS_FAKE_TIME
# mkfs.ext4 -d copies the builder's uid/gid; inside the guest everything
# belongs to root (dropbear refuses an authorized_keys root does not own).
# Only the minimal image is built without root.
if [ "$(id -u)" -ne 0 ]; then
  (cd "$rootfs" && find . -mindepth 1 | sed 's|^\.||') |
    sed 's|.*|sif "&" uid 0\nsif "&" gid 0|' >"$work/chown.debugfs"
  debugfs -w -f "$work/chown.debugfs" "$partial/rootfs.ext4" >/dev/null 2>"$work/debugfs.log" ||
    die "debugfs (ownership) failed: $(tail -n 3 "$work/debugfs.log")"
fi
step "rootfs.ext4: $(($(du -k "$partial/rootfs.ext4" | cut -f1) >> 10)) MiB allocated"

LC_ALL=C sort -u "$work/manifest.txt" >"$partial/manifest.txt"
chmod 0644 "$partial"/*
chmod 0755 "$partial"
if [ -e "$out" ]; then
  rm -rf "$out"
fi
mv "$partial" "$out"

# Both VMMs get the ELF kernel: QEMU boots it through its PVH entry point,
# which under TCG saves the ~4 s the bzImage spends decompressing itself.
kernel="$out/vmlinux"
boot_args="$BOOT_ARGS"
# QEMU under TCG needs tsc_early_khz= (no timer to calibrate the TSC
# against); banger-helper appends the host's value at launch, so the image
# does not carry one host's frequency. --tsc-khz still pins one explicitly.
if [ -n "$tsc_khz" ]; then
  boot_args="$boot_args tsc_early_khz=$tsc_khz"
fi
elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
step "built $out ($distro) in $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s"
printf 'kernel=%s\ninitrd=%s\nrootfs=%s\nboot_args=%s\n' \
  "$kernel" "$out/initrd.img" "$out/rootfs.ext4" "$boot_args"
