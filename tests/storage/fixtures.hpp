#pragma once

#include "messages/op_id.hpp"
#include "messages/records.hpp"

#include <string>

namespace banger::test {

inline Image make_image(std::string name = "debian") {
  Image x;
  x.id = mint_object_id();
  x.name = std::move(name);
  x.kernel_path = "/images/" + x.name + "/vmlinux";
  x.rootfs_path = "/images/" + x.name + "/rootfs.ext4";
  x.created_at_us = now_us();
  return x;
}

/// A VM whose IP, MAC and CID derive from `n`, so distinct n never collide.
inline VmRecord make_vm(const Image& image, std::string name, unsigned n) {
  VmRecord x;
  x.id = mint_object_id();
  x.name = std::move(name);
  x.image_id = image.id;
  x.cpus = 1;
  x.memory_mib = 128;
  x.created_at_us = x.updated_at_us = now_us();
  x.runtime.state = VmState::created;
  x.runtime.guest_ip = "10." + std::to_string((n >> 16) & 0xff) + "."
                       + std::to_string((n >> 8) & 0xff) + "."
                       + std::to_string(n & 0xff);
  x.runtime.mac = "06:00:0a:" + std::to_string(n);
  x.runtime.vsock_cid = 3 + n;
  return x;
}

} // namespace banger::test
