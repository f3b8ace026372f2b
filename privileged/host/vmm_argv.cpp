#include "privileged/host/vmm_argv.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/vm_dirs.hpp"

namespace banger::host {

namespace {

constexpr const char* jailed_api_socket = "/api.sock";

Status validate_file_fields(const LaunchRequest& request) {
  if (auto st = validate_text("kernel", request.kernel, 1, max_path_length);
      !st)
    return st;
  return validate_text("initrd", request.initrd, 0, max_path_length);
}

/// Kernel, initrd and rootfs of every kind, checked where they are.
Status fill_files(const LaunchRequest& request, const HomeLayout& layout,
                  VmmSpec& spec) {
  auto kernel = open_image_file(layout, request.kernel, O_PATH);
  if (!kernel)
    return std::move(kernel).error();
  spec.kernel = kernel->path;
  if (!request.initrd.empty()) {
    auto initrd = open_image_file(layout, request.initrd, O_PATH);
    if (!initrd)
      return std::move(initrd).error();
    spec.initrd = initrd->path;
  }
  auto rootfs = check_vm_rootfs(layout, request.vm_id);
  if (!rootfs)
    return std::move(rootfs).error();
  spec.rootfs = *rootfs;
  spec.vsock_socket = layout.vm_vsock(request.vm_id);
  return {};
}

Status validate_qemu_fields(const LaunchRequest& request) {
  if (auto st = validate_tap_name_for(request.tap, request.vm_id); !st)
    return st;
  if (request.cpus < 1 || request.cpus > max_vcpus)
    return invalid_argument("cpus " + std::to_string(request.cpus) +
                            " is outside [1, " + std::to_string(max_vcpus) +
                            "]");
  if (request.memory_mib < min_memory_mib ||
      request.memory_mib > max_memory_mib)
    return invalid_argument("memory " + std::to_string(request.memory_mib) +
                            " MiB is outside [" +
                            std::to_string(min_memory_mib) + ", " +
                            std::to_string(max_memory_mib) + "]");
  return validate_text("boot args", request.boot_args, 0, max_boot_args_length);
}

Status fill_qemu(const LaunchRequest& request, const HomeLayout& layout,
                 VmmSpec& spec) {
  auto mac = parse_mac(request.mac);
  if (!mac)
    return std::move(mac).error();
  spec.qmp_socket = layout.vm_qmp_socket(request.vm_id);
  spec.agent_socket = layout.vm_agent_socket(request.vm_id);
  spec.tap = request.tap;
  spec.mac = *mac;
  spec.cpus = request.cpus;
  spec.memory_mib = request.memory_mib;
  spec.boot_args = request.boot_args;
  if (request.accel == Accel::tcg && request.tsc_khz > 0
      && request.boot_args.find("tsc_early_khz=") == std::string::npos)
    spec.boot_args += (spec.boot_args.empty() ? "" : " ") + std::string("tsc_early_khz=")
                      + std::to_string(request.tsc_khz);
  spec.accel = request.accel;
  spec.restore = request.restore;
  return {};
}

} // namespace

std::string_view to_string(VmmKind kind) {
  switch (kind) {
  case VmmKind::firecracker:
    return "firecracker";
  case VmmKind::jailer:
    return "jailer";
  case VmmKind::qemu:
    return "qemu";
  }
  return "unknown";
}

Result<VmmKind> parse_vmm_kind(std::string_view text) {
  for (auto kind : {VmmKind::firecracker, VmmKind::jailer, VmmKind::qemu})
    if (to_string(kind) == text)
      return kind;
  return invalid_argument("vmm kind " + printable(text) +
                          " is not one of firecracker, jailer, qemu");
}

std::string_view to_string(Accel accel) {
  return accel == Accel::kvm ? "kvm" : "tcg";
}

Result<Accel> parse_accel(std::string_view text) {
  if (text == "tcg")
    return Accel::tcg;
  if (text == "kvm")
    return Accel::kvm;
  return invalid_argument("accelerator " + printable(text) +
                          " is not tcg or kvm");
}

const std::filesystem::path& VmmConfig::launcher(VmmKind kind) const {
  switch (kind) {
  case VmmKind::jailer:
    return jailer_bin;
  case VmmKind::qemu:
    return qemu_bin;
  case VmmKind::firecracker:
    break;
  }
  return firecracker_bin;
}

std::vector<std::filesystem::path> VmmConfig::vmm_executables() const {
  std::vector<std::filesystem::path> out;
  for (const auto* bin : {&firecracker_bin, &qemu_bin})
    if (!bin->empty())
      out.push_back(*bin);
  return out;
}

Result<VmmSpec> validate_launch(const LaunchRequest& request,
                                const HomeLayout& layout,
                                const VmmConfig& config) {
  if (auto st = validate_vm_id(request.vm_id); !st)
    return std::move(st).error();
  if (auto st = validate_file_fields(request); !st)
    return std::move(st).error();
  if (request.kind == VmmKind::qemu)
    if (auto st = validate_qemu_fields(request); !st)
      return std::move(st).error();
  const auto& binary = config.launcher(request.kind);
  if (binary.empty() || !binary.is_absolute())
    return refused("no absolute " + std::string(to_string(request.kind)) +
                   " binary is configured");

  VmmSpec spec;
  spec.kind = request.kind;
  spec.vm_id = request.vm_id;
  spec.binary = binary;
  spec.run_dir = layout.vm_run_dir(request.vm_id);
  spec.api_socket = layout.vm_api_socket(request.vm_id);
  spec.log_path = layout.vm_log(request.vm_id);
  spec.run_as = config.vmm_user;
  // Every file any kind of VMM is given, before anything is launched.
  if (auto st = fill_files(request, layout, spec); !st)
    return std::move(st).error();

  switch (request.kind) {
  case VmmKind::firecracker:
    break;
  case VmmKind::jailer: {
    if (!config.vmm_user)
      return invalid_argument("the jailer needs a VMM user (--uid/--gid); "
                              "none is configured");
    if (config.firecracker_bin.empty() || !config.firecracker_bin.is_absolute())
      return refused("no absolute firecracker binary is configured for the "
                     "jailer");
    spec.run_as.reset();
    spec.jail_user = *config.vmm_user;
    spec.exec_file = config.firecracker_bin;
    spec.chroot_base = spec.run_dir / "jail";
    // The jailer builds <chroot_base>/<exec file name>/<id>/root.
    spec.api_socket = spec.chroot_base / spec.exec_file.filename() /
                      request.vm_id / "root" / "api.sock";
    break;
  }
  case VmmKind::qemu:
    if (auto st = fill_qemu(request, layout, spec); !st)
      return std::move(st).error();
    break;
  }
  return spec;
}

std::vector<std::string> firecracker_argv(const VmmSpec& spec) {
  return {spec.binary.string(), "--api-sock", spec.api_socket.string(), "--id",
          spec.vm_id};
}

std::vector<std::string> jailer_argv(const VmmSpec& spec) {
  return {spec.binary.string(),
          "--id",
          spec.vm_id,
          "--exec-file",
          spec.exec_file.string(),
          "--uid",
          std::to_string(spec.jail_user.uid),
          "--gid",
          std::to_string(spec.jail_user.gid),
          "--chroot-base-dir",
          spec.chroot_base.string(),
          "--",
          "--api-sock",
          jailed_api_socket};
}

std::string qemu_escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',')
      out += ',';
  }
  return out;
}

std::vector<std::string> qemu_argv(const VmmSpec& spec) {
  std::vector<std::string> argv = {
      spec.binary.string(),
      "-M",
      "microvm,x-option-roms=off,rtc=on",
      "-nodefaults",
      "-no-user-config",
      "-nographic",
      "-accel",
      std::string(to_string(spec.accel)),
      "-smp",
      std::to_string(spec.cpus),
      "-m",
      std::to_string(spec.memory_mib),
      "-kernel",
      spec.kernel.string(),
  };
  if (!spec.initrd.empty()) {
    argv.push_back("-initrd");
    argv.push_back(spec.initrd.string());
  }
  std::vector<std::string> rest = {
      "-append",
      spec.boot_args,
      "-drive",
      "id=root,file=" + qemu_escape(spec.rootfs.string()) +
          ",format=raw,if=none",
      "-device",
      "virtio-blk-device,drive=root",
      "-netdev",
      "tap,id=net0,ifname=" + spec.tap + ",script=no,downscript=no",
      "-device",
      "virtio-net-device,netdev=net0,mac=" + spec.mac.to_string(),
      // append=on: the log also holds earlier boots and QEMU's own stderr.
      "-chardev",
      "file,id=serial0,path=" + qemu_escape(spec.log_path.string()) +
          ",append=on",
      "-serial",
      "chardev:serial0",
      "-qmp",
      "unix:" + qemu_escape(spec.qmp_socket.string()) + ",server=on,wait=off",
      // The guest agent (docs/agent.md): a virtio-serial port named for the
      // agent to find under /sys/class/virtio-ports, its host end a socket
      // bangerd connects to. wait=off: the guest runs whether or not
      // anyone is connected, and bytes the guest writes meanwhile wait in
      // the port until someone is. Port 0 of a virtio-serial bus is kept
      // for a console: max_ports=2 leaves port 1 to the agent.
      "-device",
      "virtio-serial-device,max_ports=2",
      "-chardev",
      "socket,id=agent0,path=" + qemu_escape(spec.agent_socket.string()) +
          ",server=on,wait=off",
      "-device",
      "virtserialport,chardev=agent0,name=org.banger.agent.0",
  };
  argv.insert(argv.end(), rest.begin(), rest.end());
  // A restore is the same machine as the boot that was saved, the same
  // devices in the same order (the migration stream names them by their
  // place), only waiting for the stream, which the daemon starts over QMP
  // (migrate-incoming) once it is connected. -S: the loaded guest stays
  // paused until the daemon has recorded the restore and sends `cont`.
  if (spec.restore) {
    argv.push_back("-S");
    argv.push_back("-incoming");
    argv.push_back("defer");
  }
  return argv;
}

std::vector<std::string> vmm_argv(const VmmSpec& spec) {
  switch (spec.kind) {
  case VmmKind::jailer:
    return jailer_argv(spec);
  case VmmKind::qemu:
    return qemu_argv(spec);
  case VmmKind::firecracker:
    break;
  }
  return firecracker_argv(spec);
}

} // namespace banger::host
