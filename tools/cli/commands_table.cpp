// The command table: every command, its options, its help text and its
// handler. The parser (args.cpp), the help (commands_help.cpp) and the
// dispatcher (main.cpp) all read it, so a command exists exactly when it is
// listed here.
#include "tools/cli/args.hpp"
#include "tools/cli/commands.hpp"

#include "messages/settings_table.hpp"

#include <string_view>

namespace banger::cli {

namespace {

OptionSpec flag(std::string name, std::string help, std::string short_name = {}) {
  return {std::move(name), std::move(short_name), ValueKind::none, "", std::move(help)};
}

OptionSpec text(std::string name, std::string metavar, std::string help,
                bool required = false) {
  return {std::move(name), "", ValueKind::text, std::move(metavar), std::move(help), required};
}

OptionSpec number(std::string name, std::string metavar, std::string help) {
  return {std::move(name), "", ValueKind::number, std::move(metavar), std::move(help)};
}

OptionSpec disk_size(std::string name, std::string help) {
  return {std::move(name), "", ValueKind::disk_size, "SIZE", std::move(help)};
}

// A command with positional arguments only.
CommandSpec plain(std::string name, std::string args, std::string summary, int n_args,
                  std::string example, Handler run) {
  CommandSpec c{std::move(name), std::move(args), std::move(summary)};
  c.min_args = c.max_args = n_args;
  c.example = std::move(example);
  c.run = run;
  return c;
}

std::vector<CommandSpec> build_table() {
  std::vector<CommandSpec> t;
  {
    CommandSpec c{"init", "", "create or complete an installation in --home"};
    OptionSpec vmm{"--vmm", "", ValueKind::choice, "KIND", "firecracker or qemu"};
    vmm.choices = {choices::vmm_kind.begin(), choices::vmm_kind.end()}; // vmm.kind's
    OptionSpec set{"--set", "", ValueKind::text, "KEY=VALUE",
                   "any banger.conf key (repeatable), e.g. network.bridge=br-test"};
    set.repeatable = true;
    c.options = {vmm, number("--port", "N", "daemon port N (the helper gets N+1)"), set,
                 flag("--force", "regenerate keys, certificates and banger.conf"),
                 text("--daemon-group", "GROUP", "group that may read tls/client.key"),
                 text("--cluster-ca", "DIR", "cluster CA (banger cluster ca): issues this "
                                             "home's certificates and host credential"),
                 text("--host-id", "ID", "this host's id in cluster.hosts (with --cluster-ca)")};
    c.needs_daemon = false;
    c.example = "banger init --home /srv/banger --vmm firecracker --port 7420";
    c.details = "Re-running is safe: existing keys and certificates are kept. A cluster host: "
                "--cluster-ca DIR --host-id ID --set cluster.hosts=ID=IPV4:PORT,... "
                "(docs/cluster.md); the cluster CA's key is not copied into the home.";
    c.run = cmd_init;
    t.push_back(c);
  }
  {
    CommandSpec c{"daemon status", "", "show the daemon's version, VM counts and helper"};
    c.example = "banger --home /srv/banger daemon status";
    c.details = "Exits 0 as soon as the daemon serves requests (usable as a readiness probe).";
    c.run = cmd_daemon_status;
    t.push_back(c);
  }
  {
    CommandSpec c{"image add", "NAME", "import a kernel + rootfs as an image"};
    c.options = {text("--kernel", "PATH", "guest kernel", true),
                 text("--rootfs", "PATH", "base root filesystem image", true),
                 text("--initrd", "PATH", "initial ramdisk"),
                 text("--boot-args", "ARGS", "extra kernel command line"),
                 flag("--ssh", "the guest runs an SSH server on port 22: starts wait for it "
                               "by default")};
    c.min_args = c.max_args = 1;
    c.example = "banger image add debian --kernel images/debian/vmlinux --rootfs images/debian/rootfs.ext4";
    c.details = "Relative paths are made absolute before they are sent. Files beneath "
                "<home>/images are used in place; any other regular file is imported "
                "(reflink, else a sparse copy) into <home>/images/_imported/<id>/ by bangerd "
                "with its own rights, so the sources may be deleted afterwards. Progress on a "
                "terminal.";
    c.run = cmd_image_add;
    t.push_back(c);
  }
  {
    CommandSpec c{"image build", "NAME", "build a Debian guest image and register it"};
    OptionSpec vmm{"--vmm", "", ValueKind::choice, "KIND",
                   "firecracker or qemu (default: the daemon's vmm.kind)"};
    vmm.choices = {choices::vmm_kind.begin(), choices::vmm_kind.end()}; // vmm.kind's
    OptionSpec distro{"--distro", "", ValueKind::choice, "DISTRO",
                      "minimal (busybox + dropbear, the default) or debian (debootstrap: "
                      "apt, OpenSSH; needs root)"};
    distro.choices = {"minimal", "debian"};
    c.options = {vmm, distro,
                 text("--packages", "A,B,...", "more Debian packages (--distro debian only)"),
                 text("--agent", "PATH", "static guest agent binary (default: "
                                         "banger-guest-agent next to banger, if there)"),
                 number("--size", "MIB", "rootfs size in MiB (sparse; default 256 for minimal, "
                                         "1024 for debian; at least 32)"),
                 flag("--force", "replace an existing image of that name and its <home>/images/NAME/")};
    c.min_args = c.max_args = 1;
    c.example = "banger image build deb12 --distro debian --packages curl,less --vmm qemu";
    c.details = "Runs banger-image-build (next to the banger binary) on this machine: "
                "minimal from Debian packages through apt-get download, debian with "
                "debootstrap from the host's apt mirror (cached after the first build); "
                "output in <home>/images/NAME/. See docs/images.md.";
    c.run = cmd_image_build;
    t.push_back(c);
  }
  t.push_back(plain("image ls", "", "list images", 0, "banger image ls -o json", cmd_image_ls));
  t.push_back(plain("image show", "REF", "show one image (name, id or unique id prefix)", 1,
                    "banger image show debian", cmd_image_show));
  t.push_back(plain("image rm", "REF", "remove an image no VM uses, and the files it imported", 1,
                    "banger image rm debian", cmd_image_rm));
  {
    CommandSpec c{"vm create", "", "create a VM from an image (and start it)"};
    OptionSpec publish{"--publish", "-p", ValueKind::text, "HOST:GUEST[/PROTO]",
                       "publish the guest's port GUEST on the host's port HOST while the VM "
                       "runs, tcp (default) or udp (repeatable, at most 32)"};
    publish.repeatable = true;
    c.options = {text("--image", "IMAGE", "image name or id", true),
                 text("--name", "NAME", "VM name [a-z0-9][a-z0-9-]{0,62} (default: generated)"),
                 number("--cpus", "N", "vCPUs (default: the daemon's)"),
                 number("--memory", "MIB", "memory in MiB (default: the daemon's)"),
                 disk_size("--disk", "root disk size, e.g. 2G (default: the image's rootfs); "
                                     "grown, never shrunk"),
                 text("--host", "ID", "cluster host to create it on (default: the cluster "
                                      "places it; outside a cluster, this host)"),
                 publish,
                 flag("--start", "start the VM once created"),
                 flag("--wait", "with --start: wait until the guest's SSH port answers "
                                "(the default when the image has SSH)"),
                 flag("--no-wait", "print the op_id and return at once, and do not wait for "
                                   "SSH; see `banger op show`")};
    c.example = "banger vm create --image debian --name web1 --cpus 2 --memory 512 --start --wait";
    c.details = "Shows the current stage while the daemon works; prints the VM when done. "
                "--disk makes the VM's copy of the image's rootfs that large (sparse: the host "
                "disk is used as the guest writes) and the guest grows its file system to it "
                "at boot; below the image's size is refused. "
                "-p answers on every host address except loopback: connect to the host's "
                "own address (or the bridge's), not 127.0.0.1 (docs/cli.md).";
    c.run = cmd_vm_create;
    t.push_back(c);
  }
  t.push_back(plain("vm ls", "", "list VMs", 0, "banger vm ls -o json", cmd_vm_ls));
  t.push_back(plain("vm show", "REF", "show every field of one VM (name, id or unique id prefix)",
                    1, "banger vm show web1", cmd_vm_show));
  {
    CommandSpec c{"vm start", "REF...", "start VMs"};
    c.options = {flag("--wait", "wait until the guest's SSH port answers (vmm.boot-timeout; "
                                "the default when the image has SSH)"),
                 flag("--no-wait", "return once the VMM runs, without waiting for SSH"),
                 flag("--cold", "boot a suspended VM afresh, dropping its saved state")};
    c.min_args = 1;
    c.max_args = -1;
    c.example = "banger vm start --wait web1 web2";
    c.details = "A suspended VM (vm suspend) is restored from its saved state: the guest "
                "runs on where it was, with the same IP, MAC and SSH host key. If the "
                "restore fails, the VM stays suspended with its files; --cold boots it "
                "afresh instead.";
    c.run = cmd_vm_start;
    t.push_back(c);
  }
  struct Action {
    const char* name;
    const char* summary;
    Handler run;
  };
  for (auto [name, summary, run] :
       {Action{"vm stop", "stop VMs gracefully (up to vmm.stop-grace)", cmd_vm_stop},
        Action{"vm restart", "stop then start VMs", cmd_vm_restart},
        Action{"vm rm", "delete VMs (killing them if running)", cmd_vm_rm}}) {
    CommandSpec c{name, "REF...", summary, {}, 1, -1};
    c.run = run;
    if (std::string_view(name) == "vm restart")
      c.options = {flag("--wait", "wait until the guest's SSH port answers again (the "
                                  "default when the image has SSH)"),
                   flag("--no-wait", "return once the VMM runs, without waiting for SSH")};
    c.example = std::string("banger ") + name + " web1 web2";
    c.details = "Several REFs run concurrently; each gets its own result line; "
                "exit 1 if any failed. Default --timeout: 120s.";
    t.push_back(c);
  }
  for (auto [name, summary, run] :
       {Action{"vm pause", "stop the guests' vCPUs, keeping their memory and VMM", cmd_vm_pause},
        Action{"vm resume", "let paused guests run on", cmd_vm_resume},
        Action{"vm suspend",
               "save the guests' state to disk and end their VMMs (vm start restores it)",
               cmd_vm_suspend}}) {
    CommandSpec c{name, "REF...", summary, {}, 1, -1};
    c.run = run;
    c.example = std::string("banger ") + name + " web1";
    c.details = "Several REFs run concurrently; each gets its own result line; "
                "exit 1 if any failed.";
    t.push_back(c);
  }
  {
    CommandSpec c{"vm snapshot", "REF NAME | ls REF | rm REF NAME",
                  "keep, list or delete named snapshots of a VM"};
    c.min_args = 2;
    c.max_args = 3;
    c.example = "banger vm snapshot web1 before-upgrade && banger vm snapshot ls web1";
    c.details = "A snapshot keeps the VM's disk as it is now (a reflink where the file system "
                "can, else a sparse copy) and, of a running or paused VM, its memory and "
                "device state (the guest is paused meanwhile, then runs on). Snapshots stay "
                "until deleted or the VM is removed. A VM named ls or rm is named by its id "
                "here.";
    c.run = cmd_vm_snapshot;
    t.push_back(c);
  }
  {
    CommandSpec c{"vm restore", "REF NAME", "roll a VM back to one of its snapshots"};
    c.options = {flag("--wait", "wait until the restored guest's SSH port answers"),
                 flag("--no-wait", "return once the guest runs, without waiting for SSH")};
    c.min_args = c.max_args = 2;
    c.example = "banger vm restore web1 before-upgrade";
    c.details = "What runs now is discarded (the VMM is ended without a shutdown). The disk "
                "becomes the snapshot's; a snapshot with memory resumes the guest where it "
                "was (paused if it was taken paused), one without leaves the VM stopped. The "
                "snapshot stays for the next restore.";
    c.run = cmd_vm_restore;
    t.push_back(c);
  }
  {
    CommandSpec c{"vm clone", "REF[@SNAPSHOT] [NAME]",
                  "a new VM from a running VM or from one of its snapshots"};
    c.min_args = 1;
    c.max_args = 2;
    c.example = "banger vm clone web1 web2 && banger vm clone web1@warm web3";
    c.details = "The clone resumes the guest where the source was (its memory, processes and "
                "disk), on its own copy of the disk, with its own name, address, MAC, "
                "hostname, machine-id and SSH host keys, which the guest agent applies before "
                "the clone is reported ready. REF alone is the running or paused VM as it "
                "is now (paused for the copy, then running on); REF@SNAPSHOT is one of its "
                "snapshots taken while it ran. The image must have the guest agent (image "
                "build --agent). NAME defaults to a generated one.";
    c.run = cmd_vm_clone;
    t.push_back(c);
  }
  {
    CommandSpec c{"vm kill", "REF...", "signal the VMMs of VMs (default TERM)"};
    c.options = {text("--signal", "SIG", "signal name or number, e.g. KILL")};
    c.min_args = 1;
    c.max_args = -1;
    c.example = "banger vm kill --signal KILL web1";
    c.run = cmd_vm_kill;
    t.push_back(c);
  }
  {
    CommandSpec c{"vm ssh", "REF", "ssh into a running VM as root"};
    c.min_args = c.max_args = 1;
    c.passthrough = true;
    c.tool_options = ToolOptions::ssh;
    c.example = "banger vm ssh web1 -L 8080:localhost:80 -t -- top";
    c.details = "Uses banger's own key and known_hosts (host keys pinned on first use). "
                "Waits up to vmm.boot-timeout for a booting guest to accept SSH. "
                + tool_options_help(ToolOptions::ssh);
    c.run = cmd_vm_ssh;
    t.push_back(c);
  }
  {
    CommandSpec c{"vm exec", "REF", "run a command in a VM through its guest agent"};
    auto env = text("--env", "NAME=VALUE", "set an environment variable (repeatable)", false);
    env.short_name = "-e";
    env.repeatable = true;
    c.options = {flag("--tty", "run the command on a terminal (raw mode here)", "-t"),
                 flag("--interactive", "forward stdin even when it is a terminal", "-i"), env,
                 text("--workdir", "DIR", "the command's working directory (default /root)")};
    c.min_args = c.max_args = 1;
    c.passthrough = true;
    c.example = "banger vm exec web1 -- sh -c 'apt-get update && apt-get -y install nginx'";
    c.details = "Needs no SSH and no guest network: the command runs through the guest "
                "agent (docs/agent.md) of an image built with one. stdout and stderr stream "
                "as the command writes them; stdin is forwarded when it is not a terminal, "
                "or with -i or -t; without -t, ^C and TERM are sent to the command. The exit "
                "status is the command's (128 + N when signal N ended it).";
    c.run = cmd_vm_exec;
    t.push_back(c);
  }
  {
    CommandSpec c{"vm cp", "SRC DST", "copy files to or from a VM (VM:PATH on one side)"};
    c.options = {flag("--recursive", "copy directories", "-r"),
                 flag("--ssh", "copy over SSH even when the guest has an agent")};
    c.min_args = c.max_args = 2;
    c.tool_options = ToolOptions::scp;
    c.example = "banger vm cp ./site.tar web1:/root/ && banger vm cp -r web1:/etc/nginx ./nginx";
    c.details = "A single file goes through the guest agent when the VM has one (no SSH, "
                "written whole or not at all). Otherwise, and for -r, runs scp with the same "
                "key and pinned host key as `vm ssh`, over SFTP when "
                "the guest has an SFTP server, else scp's own protocol (-O) when it has scp. "
                "Waits for a booting guest like `vm ssh`. "
                + tool_options_help(ToolOptions::scp);
    c.run = cmd_vm_cp;
    t.push_back(c);
  }
  {
    CommandSpec c{"vm logs", "REF", "print the VMM log of a VM"};
    c.options = {flag("--follow", "keep printing new lines until interrupted", "-f")};
    c.min_args = c.max_args = 1;
    c.example = "banger vm logs web1 --follow";
    c.run = cmd_vm_logs;
    t.push_back(c);
  }
  {
    CommandSpec c{"events", "", "print this host's VM state changes and operation stages as they happen"};
    c.options = {text("--vm", "REF", "only this VM's events"),
                 number("--count", "N", "stop after N events"),
                 number("--after", "SEQ", "start after event SEQ (0: every event still kept)")};
    c.example = "banger events --vm web1";
    c.run = cmd_events;
    t.push_back(c);
  }
  t.push_back(plain("op show", "OP_ID", "show the stages and outcome of an operation", 1,
                    "banger op show op-3f9a0c12d4e1", cmd_op_show));
  {
    CommandSpec c{"doctor", "", "find resources no record owns (taps, rootfs, sockets...)"};
    c.options = {flag("--fix", "remove what was found")};
    c.example = "banger doctor --fix";
    c.details = "Exits 0 when nothing was found or everything was fixed, 1 otherwise.";
    c.run = cmd_doctor;
    t.push_back(c);
  }
  {
    CommandSpec c{"cluster ca", "DIR", "create the cluster CA once, for banger init --cluster-ca"};
    c.options = {flag("--force", "replace an existing CA in DIR (every host must then be "
                                 "initialized again)")};
    c.min_args = c.max_args = 1;
    c.needs_daemon = false;
    c.example = "banger cluster ca ~/banger-cluster-ca";
    c.details = "Writes DIR/ca.pem and DIR/ca.key (0600; DIR 0700). Then, on each host: "
                "banger init --cluster-ca DIR --host-id ID --set cluster.hosts=ID=IPV4:PORT,...";
    c.run = cmd_cluster_ca;
    t.push_back(c);
  }
  {
    CommandSpec c{"cluster status", "", "show every cluster host as this one sees it"};
    c.example = "banger cluster status -o json";
    c.details = "STATE is up, suspect or down (self for the host answering); figures are as "
                "of each host's last ping. Outside a cluster the daemon answers conflict.";
    c.run = cmd_cluster_status;
    t.push_back(c);
  }
  {
    CommandSpec c{"completion bash", "", "print the bash completion script"};
    c.needs_daemon = false;
    c.example = "banger completion bash > /usr/share/bash-completion/completions/banger";
    c.details = "Generated from this command table: every command and option; VM and "
                "image names come from the daemon when it is reachable.";
    c.run = cmd_completion;
    t.push_back(c);
  }
  return t;
}

} // namespace

const std::vector<CommandSpec>& command_table() {
  static const std::vector<CommandSpec> table = build_table();
  return table;
}

const CommandSpec* find_command(std::string_view name) {
  for (const auto& c : command_table())
    if (c.name == name)
      return &c;
  return nullptr;
}

} // namespace banger::cli
