#!/usr/bin/env bash
# banger-image-build: builds a small bootable guest image from Debian 12
# packages fetched with `apt-get download` (the only network access) and
# extracted with `dpkg-deb -x` into a temporary staging directory; nothing is
# installed on the host. See docs/images.md for what the image contains and
# how its init works.
#
# Outputs, in <home>/images/<name>/:
#   vmlinux      the Debian kernel as an uncompressed ELF: what Firecracker
#                boots, and what QEMU boots fastest (PVH entry, no
#                decompression under emulation)
#   vmlinuz      the same kernel as Debian ships it (bzImage)
#   initrd.img   busybox + the virtio/ext4/ACPI modules; mounts /dev/vda
#   rootfs.ext4  busybox init, dropbear, sftp-server, resize2fs, banger's SSH
#                public key
#   manifest.txt the Debian packages the image was made from
# and, on stdout, the values to register it with (kernel=, initrd=, rootfs=,
# boot_args=), one per line. Progress and errors go to stderr.
#
# One file on purpose (over ~400 lines): a linear build, packages -> kernel
# -> initramfs -> root filesystem, and the guest's own scripts (init, rcS,
# ready, poweroff) are here-documents written into the image as they are
# built. The CLI runs this script as a single installed file
# (banger-image-build next to the binaries), so it carries no companions.
set -euo pipefail

readonly PROG=banger-image-build
# The kernel command line the image needs on top of the daemon's own
# (console=ttyS0 reboot=k panic=1 pci=off ip=...). Only the initramfs reads
# root=; `quiet` keeps the slow (emulated) serial console out of boot time.
readonly BOOT_ARGS="root=/dev/vda rw quiet"
# Bump when what is cached under <cache>/kernel changes shape.
readonly KIT_VERSION=1
# Loaded by the initramfs, dependencies first (resolved below): the disk and
# network are virtio-mmio devices, the root filesystem is ext4 (which asks
# the crypto API for crc32c at mount time), and QEMU's power button is an
# ACPI button reported through evdev.
readonly MODULES=(virtio_mmio virtio_blk virtio_net crc32c_generic ext4 button evdev)

step() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
  cat >&2 <<EOF
usage: $PROG --home DIR --name NAME [--vmm firecracker|qemu] [--cache DIR]
                          [--size-mib N] [--tsc-khz N] [--force]

Builds <home>/images/<name>/ from Debian packages (apt-get download) and
prints kernel=, initrd=, rootfs=, boot_args= for \`banger image add\`.
  --vmm       firecracker (default) or qemu
  --cache     cache of .debs and kernels (default \${XDG_CACHE_HOME:-\$HOME/.cache}/banger)
  --size-mib  rootfs size (sparse; default 256)
  --tsc-khz   pin tsc_early_khz= in the boot args (default: none; banger-helper
              appends the host's under TCG)
  --force     replace an existing <home>/images/<name>/
EOF
  exit 2
}

home="" name="" vmm=firecracker size_mib=256 force=0 tsc_khz=""
cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/banger"
while [ $# -gt 0 ]; do
  case "$1" in
    --home) home="${2:?--home needs a value}"; shift 2 ;;
    --name) name="${2:?--name needs a value}"; shift 2 ;;
    --vmm) vmm="${2:?--vmm needs a value}"; shift 2 ;;
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
[[ "$vmm" == firecracker || "$vmm" == qemu ]] || die "--vmm must be firecracker or qemu, not '$vmm'"
[[ "$size_mib" =~ ^[0-9]+$ ]] && [ "$size_mib" -ge 32 ] || die "--size-mib must be a number >= 32"
[[ -z "$tsc_khz" || "$tsc_khz" =~ ^[1-9][0-9]{5,7}$ ]] || die "--tsc-khz must be a frequency in kHz, e.g. 2100000"

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
for t in "${tools[@]}"; do
  command -v "$t" >/dev/null || die "missing host tool '$t' (tools/install-deps.sh installs it)"
done
[ "$(dpkg --print-architecture)" = amd64 ] || die "only amd64 hosts are supported"

started=$(date +%s%N)
work="$(mktemp -d "${TMPDIR:-/tmp}/banger-image.XXXXXX")"
partial="$images/.$name.partial.$$"
cleanup() { rm -rf "$work" "$partial" "${kit:-}.partial.$$"; }
trap cleanup EXIT

# The host's TSC frequency in kHz: the kernel's own calibration if the log
# still has it, else what /proc/cpuinfo reports.

# -- packages -----------------------------------------------------------------

# The versioned kernel package (linux-image-6.1.0-NN-amd64) the metapackage
# points at; its name is also the module directory's.
kernel_pkg="$(apt-cache depends linux-image-amd64 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)"
[ -n "$kernel_pkg" ] || die "apt does not know linux-image-amd64's kernel; run apt-get update"
kver="${kernel_pkg#linux-image-}"

# The shared libraries of dropbear and resize2fs come from their Depends
# closure; which of their files are needed is decided later from the
# binaries' DT_NEEDED entries. openssh-sftp-server (what makes scp and sftp
# work: dropbear runs it as its sftp subsystem) needs only libc, so its own
# Depends (the whole OpenSSH client) are left out.
mapfile -t lib_pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances dropbear-bin e2fsprogs 2>/dev/null |
  grep -v '^ ' | grep -v '^<' | grep -vx -e dropbear-bin -e e2fsprogs)
[ ${#lib_pkgs[@]} -gt 0 ] || die "apt does not know dropbear-bin; run apt-get update"
packages=("$kernel_pkg" busybox-static dropbear-bin openssh-sftp-server e2fsprogs "${lib_pkgs[@]}")

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
  printf '%s\n' "${order[@]}" >"$kit/modules.order"
  rm -rf "$kroot"
}

kit_key="$(printf '%s\n' "$KIT_VERSION" "${kernel_deb##*/}" "${MODULES[@]}" | sha256sum | cut -c1-16)"
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
[ -x /newroot/sbin/init ] || fail "$root has no /sbin/init"
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot /sbin/init
EOF
chmod 0755 "$initramfs/init"
step "writing initrd.img"
(cd "$initramfs" && find . -print0 | LC_ALL=C sort -z |
  cpio --quiet -o -0 -H newc -R 0:0 >"$partial/initrd.img") || die "cpio failed"

# -- root filesystem ----------------------------------------------------------

rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc/dropbear,etc/banger,etc/acpi/PWRF,dev,proc,sys,run,tmp,var/log,root/.ssh,lib64}
ln -s ../run "$rootfs/var/run"
cp "$busybox" "$rootfs/bin/busybox"
# Applet links exactly where busybox's own --install would put them.
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
interp="$(readelf -lW "$rootfs/usr/sbin/dropbear" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')"
[ "$interp" = /lib64/ld-linux-x86-64.so.2 ] || die "unexpected program interpreter '$interp'"
cp -L "$pkgroot/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$rootfs/lib/x86_64-linux-gnu/"
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$rootfs/lib64/ld-linux-x86-64.so.2"
step "rootfs libraries: ${!lib_done[*]}"

# Accounts: root only, no password (dropbear runs with -s: keys only).
cat >"$rootfs/etc/passwd" <<'EOF'
root:*:0:0:root:/root:/bin/sh
EOF
echo 'root:x:0:' >"$rootfs/etc/group"
echo '/bin/sh' >"$rootfs/etc/shells"
echo 'banger' >"$rootfs/etc/hostname"
# busybox is static glibc: its name lookups (wget, ping) read nsswitch.conf,
# hosts and resolv.conf. Without these, every name is a "bad address" and
# even localhost does not resolve. rcS rewrites hosts and resolv.conf at
# every boot from the kernel command line.
printf 'hosts: files dns\nnetworks: files\n' >"$rootfs/etc/nsswitch.conf"
printf '127.0.0.1\tlocalhost\n' >"$rootfs/etc/hosts"
# resize2fs (and mount) look for the mount table here.
ln -s /proc/self/mounts "$rootfs/etc/mtab"
cp "$pubkey" "$rootfs/root/.ssh/authorized_keys"

cat >"$rootfs/etc/inittab" <<'EOF'
# busybox init. No respawn entries: a power-off must not race init
# restarting what it just stopped.
::sysinit:/etc/banger/rcS
::once:/etc/banger/ready
::ctrlaltdel:/etc/banger/poweroff
::shutdown:/bin/umount -a -r
EOF

cat >"$rootfs/etc/banger/rcS" <<'EOF'
#!/bin/sh
# banger guest start-up: file systems (the root one grown to its disk), network,
# hostname and DNS from ip= on the kernel command line, SSH host key (made
# once per VM, kept in the rootfs), dropbear, acpid.
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
  while [ ! -e "/sys/class/net/$device" ] && [ "$i" -lt 500 ]; do i=$((i + 1)); usleep 10000; done
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

key=/etc/dropbear/dropbear_ed25519_host_key
if [ ! -s "$key" ]; then
  rm -f "$key.new"
  dropbearkey -t ed25519 -f "$key.new" >/dev/null 2>&1 && mv "$key.new" "$key" ||
    echo "banger-guest: error: dropbearkey failed"
  sync
fi
dropbear -s -p 22 -r "$key" -P /run/dropbear.pid
# QEMU's power button (system_powerdown) arrives as an evdev key event.
ls /dev/input/event* >/dev/null 2>&1 && acpid -c /etc/acpi -l /run/acpid.log -p /run/acpid.pid
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
      [ "${off#-}" -gt 2 ] && hwclock -s -u
    done
  ) </dev/null >/dev/null 2>&1 &
fi
exit 0
EOF

cat >"$rootfs/etc/banger/ready" <<'EOF'
#!/bin/sh
# Prints the readiness line once dropbear listens on port 22 (LISTEN = 0A).
i=0
while ! grep -q ':0016 00000000:0000 0A' /proc/net/tcp 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt 1500 ]; then
    echo "banger-guest: error: nothing listens on port 22 after 30 s" >/dev/console
    exit 1
  fi
  usleep 20000
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
while ! mount -o remount,ro / 2>/dev/null && [ "$i" -lt 40 ]; do i=$((i + 1)); usleep 50000; done
kill -KILL -1 2>/dev/null
sync
umount -a -r 2>/dev/null
mount -o remount,ro / 2>/dev/null
"$off" -f
EOF
# busybox acpid runs /etc/acpi/<event>/<value> for the power button.
cat >"$rootfs/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
exec /etc/banger/poweroff
EOF
chmod 0755 "$rootfs"/etc/banger/* "$rootfs/etc/acpi/PWRF/00000080"
chmod 0700 "$rootfs/root" "$rootfs/root/.ssh"
chmod 0600 "$rootfs/root/.ssh/authorized_keys"
chmod 1777 "$rootfs/tmp"

step "writing rootfs.ext4 (${size_mib} MiB, sparse)"
truncate -s "${size_mib}M" "$partial/rootfs.ext4"
mkfs.ext4 -q -F -L banger-root -b 4096 -m 1 -E root_owner=0:0 -d "$rootfs" "$partial/rootfs.ext4" \
  >"$work/mkfs.log" 2>&1 || die "mkfs.ext4 failed: $(tr '\n' ' ' <"$work/mkfs.log")"
# mkfs.ext4 -d copies the builder's uid/gid; inside the guest everything
# belongs to root (dropbear refuses an authorized_keys root does not own).
if [ "$(id -u)" -ne 0 ]; then
  (cd "$rootfs" && find . -mindepth 1 | sed 's|^\.||') |
    sed 's|.*|sif "&" uid 0\nsif "&" gid 0|' >"$work/chown.debugfs"
  debugfs -w -f "$work/chown.debugfs" "$partial/rootfs.ext4" >/dev/null 2>"$work/debugfs.log" ||
    die "debugfs (ownership) failed: $(tail -n 3 "$work/debugfs.log")"
fi

for deb in "${debs[@]}"; do
  dpkg-deb --show --showformat='${Package} ${Version}\n' "$deb"
done >"$partial/manifest.txt"
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
step "built $out in $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s"
printf 'kernel=%s\ninitrd=%s\nrootfs=%s\nboot_args=%s\n' \
  "$kernel" "$out/initrd.img" "$out/rootfs.ext4" "$boot_args"
