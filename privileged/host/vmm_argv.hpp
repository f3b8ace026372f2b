// What banger-helper runs as a VMM and with which arguments. The caller only
// picks the kind, the VM and typed settings; the binary comes from the
// helper's configuration and every path is derived from the home layout or
// resolved beneath <home>/images. The argv builders are pure.
#pragma once

#include "messages/home_layout.hpp"
#include "messages/result.hpp"
#include "privileged/host/paths.hpp"
#include "privileged/host/validate.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger::host {

enum class VmmKind : std::uint8_t { firecracker, jailer, qemu };
enum class Accel : std::uint8_t { tcg, kvm };

/// "firecracker", "jailer", "qemu".
std::string_view to_string(VmmKind kind);
Result<VmmKind> parse_vmm_kind(std::string_view text);
/// "tcg", "kvm".
std::string_view to_string(Accel accel);
Result<Accel> parse_accel(std::string_view text);

inline constexpr std::uint32_t max_vcpus = 32;
inline constexpr std::uint32_t min_memory_mib = 16;
inline constexpr std::uint32_t max_memory_mib = 1024 * 1024;

/// The helper's own VMM settings (vmm.*-bin, the VMM user); never taken from
/// a request.
struct VmmConfig {
  std::filesystem::path firecracker_bin;
  std::filesystem::path jailer_bin;
  std::filesystem::path qemu_bin;
  /// Unprivileged user VMMs run as; the jailer gets it as --uid/--gid.
  std::optional<Ownership> vmm_user;

  /// Binary started for `kind` (jailer_bin for jailer).
  const std::filesystem::path& launcher(VmmKind kind) const;
  /// Every configured executable a running VMM can be (firecracker also
  /// under the jailer, qemu); for process identity checks.
  std::vector<std::filesystem::path> vmm_executables() const;
};

/// A launch request as the daemon sends it: untrusted.
struct LaunchRequest {
  VmmKind kind = VmmKind::firecracker;
  std::string vm_id;
  /// Every kind: qemu gets them on its command line, firecracker through
  /// its API from the daemon, which configures exactly the paths validated
  /// here (VmmLaunched hands them back). Beneath <home>/images (relative to
  /// it or absolute).
  std::string kernel;
  /// Optional, beneath <home>/images.
  std::string initrd;
  std::string tap;
  std::string mac;
  std::uint32_t cpus = 1;
  std::uint32_t memory_mib = 128;
  std::string boot_args;
  Accel accel = Accel::tcg;
  /// qemu: the VMM waits for a saved state (`-S -incoming defer`) instead of
  /// booting the kernel; firecracker loads its state over the API.
  bool restore = false;
  /// tcg only: the host's TSC frequency. Under TCG, QEMU's microvm offers the
  /// guest no timer to calibrate its TSC against and a Debian kernel hangs
  /// early; `tsc_early_khz=` (appended unless the caller set it) tells it.
  std::uint32_t tsc_khz = 0;
};

/// A validated launch: everything needed to build the argv and spawn.
struct VmmSpec {
  VmmKind kind = VmmKind::firecracker;
  std::string vm_id;
  /// What is executed (firecracker, jailer or qemu binary).
  std::filesystem::path binary;
  /// <home>/run/vms/<id>
  std::filesystem::path run_dir;
  /// Where the VMM's API socket appears on the host (jailer: in the chroot).
  std::filesystem::path api_socket;
  /// <home>/state/vms/<id>/vmm.log: the VMM's stdout and stderr.
  std::filesystem::path log_path;
  /// User the spawned process switches to; unset for the jailer, which
  /// needs root and drops to `jail_user` itself.
  std::optional<Ownership> run_as;

  // jailer
  std::filesystem::path exec_file;
  Ownership jail_user;
  std::filesystem::path chroot_base;

  // Every file the VMM is given, each checked by validate_launch: canonical
  // paths of regular files beneath <home>/images, and the VM's own rootfs
  // and vsock socket (under its state and run directories).
  std::filesystem::path kernel;
  std::filesystem::path initrd; ///< empty: none
  std::filesystem::path rootfs;
  std::filesystem::path vsock_socket;

  // qemu
  std::filesystem::path qmp_socket;
  /// The guest agent's virtio-serial port, a Unix socket QEMU serves
  /// (docs/agent.md).
  std::filesystem::path agent_socket;
  std::string tap;
  MacAddress mac;
  std::uint32_t cpus = 1;
  std::uint32_t memory_mib = 128;
  std::string boot_args;
  Accel accel = Accel::tcg;
  bool restore = false;
};

// FIXME: QEMU opens kernel, initrd, rootfs and log by path after the helper
// checked them. Configure vmm_user so it runs unprivileged: a path swapped
// in between then reaches nothing that user could not open anyway. Passing
// descriptors (-add-fd with /dev/fdset paths) would close the window even for
// a QEMU running as root.
//
// FIXME: under the jailer, firecracker only sees its chroot
// (<run>/jail/<exec name>/<id>/root); hard-linking the kernel and rootfs
// into it is not done here, and no jailer binary was available to test with.

/// Validates `request` against the layout and configuration, for every
/// kind. Kernel and initrd must be regular files beneath <home>/images
/// (openat2 with RESOLVE_BENEATH: no `..`, no symlink out, no magic link) and
/// are recorded as canonical paths; the rootfs must be a regular file (no
/// symlink) in the VM's state directory, reached without following symlinks.
///
/// What this guarantees: at the moment of the check, each path the VMM is
/// given names a file inside banger's directories, whatever the request said.
/// What it does not: the VMM opens these paths itself, later (firecracker
/// only when the daemon configures it over the API). Whoever can write in
/// <home>/images or the VM's directories in between can swap a component
/// for a symlink (time of check to time of use). Those directories belong to
/// the installation, not to API clients; running the VMM as vmm_user limits
/// a swapped path to what that user could open anyway.
Result<VmmSpec> validate_launch(const LaunchRequest& request,
                                const HomeLayout& layout,
                                const VmmConfig& config);

/// firecracker --api-sock <run>/api.sock --id <vm_id>
std::vector<std::string> firecracker_argv(const VmmSpec& spec);

/// jailer --id <vm_id> --exec-file <firecracker> --uid U --gid G
///        --chroot-base-dir <run>/jail -- --api-sock /api.sock
std::vector<std::string> jailer_argv(const VmmSpec& spec);

/// qemu-system-x86_64 -M microvm,... (see vmm_argv.cpp).
std::vector<std::string> qemu_argv(const VmmSpec& spec);

/// The argv for spec.kind.
std::vector<std::string> vmm_argv(const VmmSpec& spec);

/// Doubles commas, QEMU's escape inside a comma-separated option value.
std::string qemu_escape(std::string_view value);

} // namespace banger::host
