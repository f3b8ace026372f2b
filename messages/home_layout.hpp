// Where everything of one installation lives under its home directory. Daemon,
// helper and CLI derive every path from here, so they can never disagree.
//
//   <home>/banger.conf            configuration (CAF config syntax)
//   <home>/state/banger.db        SQLite store
//   <home>/state/known_hosts      pinned guest SSH host keys
//   <home>/state/ssh/id_ed25519   banger's SSH key for guests
//   <home>/state/vms/<id>/        persistent per-VM files (rootfs, vmm.log)
//   <home>/run/vms/<id>/          runtime files (API/QMP socket, vsock, agent)
//   <home>/tls/                   per-home CA and certificates
//   <home>/images/<name>/         kernels, initrds, base rootfs images
//   <home>/images/_imported/<id>/ what `image add` copied in (owned by image <id>)
//   <home>/logs/                  daemon and helper logs
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace banger {

class HomeLayout {
public:
  explicit HomeLayout(std::filesystem::path home) : home_(std::move(home)) {}

  const std::filesystem::path& home() const { return home_; }
  std::filesystem::path config_file() const { return home_ / "banger.conf"; }
  std::filesystem::path state_dir() const { return home_ / "state"; }
  std::filesystem::path database() const { return state_dir() / "banger.db"; }
  std::filesystem::path known_hosts() const { return state_dir() / "known_hosts"; }
  std::filesystem::path ssh_dir() const { return state_dir() / "ssh"; }
  std::filesystem::path run_dir() const { return home_ / "run"; }
  std::filesystem::path tls_dir() const { return home_ / "tls"; }
  std::filesystem::path images_dir() const { return home_ / "images"; }
  std::filesystem::path logs_dir() const { return home_ / "logs"; }

  /// A cluster host's credential (docs/cluster.md): a certificate from the
  /// cluster CA with CN "banger-host:<host id>" and its key, readable by
  /// bangerd only. A CLI certificate from the same CA is not one.
  std::filesystem::path host_certificate() const { return tls_dir() / "host.pem"; }
  std::filesystem::path host_key() const { return tls_dir() / "host.key"; }

  /// Files `image add` imported, one folder per image id. "_" cannot start
  /// an image name, so no built image (images/<name>/) can clash with it.
  std::filesystem::path imported_dir() const { return images_dir() / "_imported"; }
  std::filesystem::path image_import_dir(std::string_view image_id) const {
    return imported_dir() / std::string(image_id);
  }

  /// Persistent per-VM directory: writable rootfs and the VMM's log.
  std::filesystem::path vm_dir(std::string_view vm_id) const {
    return state_dir() / "vms" / std::string(vm_id);
  }
  std::filesystem::path vm_rootfs(std::string_view vm_id) const {
    return vm_dir(vm_id) / "rootfs.img";
  }
  std::filesystem::path vm_log(std::string_view vm_id) const {
    return vm_dir(vm_id) / "vmm.log";
  }

  /// Runtime directory: everything here is meaningless after the VMM exits.
  std::filesystem::path vm_run_dir(std::string_view vm_id) const {
    return run_dir() / "vms" / std::string(vm_id);
  }
  std::filesystem::path vm_api_socket(std::string_view vm_id) const {
    return vm_run_dir(vm_id) / "api.sock";
  }
  std::filesystem::path vm_vsock(std::string_view vm_id) const {
    return vm_run_dir(vm_id) / "vsock.sock";
  }
  std::filesystem::path vm_qmp_socket(std::string_view vm_id) const {
    return vm_run_dir(vm_id) / "qmp.sock";
  }
  /// QEMU: the guest agent's virtio-serial port (docs/agent.md); under
  /// Firecracker the agent is reached through vm_vsock().
  std::filesystem::path vm_agent_socket(std::string_view vm_id) const {
    return vm_run_dir(vm_id) / "agent.sock";
  }

private:
  std::filesystem::path home_;
};

/// Whether `path` is a file `image add` imported for image `image_id`
/// (<home>/images/_imported/<id>/<file>, whatever the home): what
/// `image rm` deletes with the record.
inline bool is_imported_file(const std::filesystem::path& path, std::string_view image_id) {
  auto dir = path.parent_path();
  return !image_id.empty() && dir.filename() == image_id
         && dir.parent_path().filename() == "_imported"
         && dir.parent_path().parent_path().filename() == "images";
}

/// VM ids are 16 lowercase hex digits; the short id is their first 8.
inline std::string short_id(std::string_view vm_id) {
  return std::string(vm_id.substr(0, 8));
}

/// Tap device of a VM: tap-fc-<short id>, exactly IFNAMSIZ-1 characters.
inline std::string tap_name(std::string_view vm_id) {
  return "tap-fc-" + short_id(vm_id);
}

} // namespace banger
