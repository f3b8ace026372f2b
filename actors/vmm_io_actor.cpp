#include "actors/vmm_io_actor.hpp"
#include "messages/sheltered.hpp"

#include "actors/qemu_driver.hpp"
#include "actors/reactor.hpp"
#include "messages/error.hpp"

#include <caf/all.hpp>

#include <unordered_map>

namespace banger {

namespace {

// Completions posted by the reactor thread.
struct HttpDone {
  std::uint64_t id = 0;
  std::int32_t status = 0;
  std::string body;
  std::uint8_t code = 0;
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, HttpDone& x) {
  return f(caf::meta::type_name("banger.internal.HttpDone"), x.id, x.status, x.body,
           x.code, x.error);
}

struct WaitDone {
  std::uint64_t id = 0;
  std::uint8_t code = 0;
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WaitDone& x) {
  return f(caf::meta::type_name("banger.internal.WaitDone"), x.id, x.code, x.error);
}

struct QmpDone {
  std::uint64_t id = 0;
  std::vector<std::string> returns;
  std::string migration;
  std::uint8_t code = 0;
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, QmpDone& x) {
  return f(caf::meta::type_name("banger.internal.QmpDone"), x.id, x.returns, x.migration,
           x.code, x.error);
}

struct SequenceDone {
  std::uint64_t id = 0;
  HttpReplies replies;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SequenceDone& x) {
  return f(caf::meta::type_name("banger.internal.SequenceDone"), x.id, x.replies);
}

/// Runs calls[i..] of a sequence; on the reactor thread after the first.
void run_sequence(Reactor& reactor, caf::actor me, std::uint64_t id,
                  std::shared_ptr<std::vector<HttpCall>> calls,
                  std::shared_ptr<HttpReplies> out, std::size_t i) {
  auto& call = (*calls)[i];
  reactor.http(call.socket, call.method, call.path, call.body,
               std::chrono::milliseconds(call.timeout_ms),
               [&reactor, me, id, calls, out, i](Result<HttpResponse> result) {
                 bool more = false;
                 if (!result) {
                   out->code = static_cast<std::uint8_t>(result.error().code);
                   out->error = result.error().message;
                 } else {
                   more = result->status < 300 && i + 1 < calls->size();
                   out->replies.push_back(HttpReply{result->status, std::move(result->body)});
                 }
                 if (more)
                   run_sequence(reactor, me, id, calls, out, i + 1);
                 else
                   caf::anon_send(me, SequenceDone{id, std::move(*out)});
               });
}

struct IoState {
  IoState() = default; // not an aggregate: CAF must not build it from `self`
  std::unique_ptr<Reactor> reactor = std::make_unique<Reactor>();
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<HttpReply>> http;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<HttpReplies>> sequences;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<Ack>> waits;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<QmpReply>> qmp;
  static inline const char* name = "vmm_io";
};

using io_impl = vmm_io_actor::extend<caf::reacts_to<HttpDone>, caf::reacts_to<WaitDone>,
                                     caf::reacts_to<QmpDone>, caf::reacts_to<SequenceDone>>;

/// Reactor completion -> WaitDone message to the vmm_io actor.
Reactor::DoneCallback post_wait(caf::actor me, std::uint64_t id) {
  return [me = std::move(me), id](Status status) {
    WaitDone done{id, 0, {}};
    if (!status) {
      done.code = static_cast<std::uint8_t>(status.error().code);
      done.error = status.error().message;
    }
    caf::anon_send(me, std::move(done));
  };
}

io_impl::behavior_type io_behavior(sheltered_pointer<io_impl, IoState> self, std::string /*purpose*/) {
  return {
    [self](DuplexOpen& open) -> std::uint64_t {
      auto notify = open.notify;
      auto link = open.link;
      Reactor::DuplexHandlers handlers;
      handlers.opened = [notify, link] { caf::anon_send(notify, DuplexOpened{link}); };
      handlers.data = [notify, link](std::string bytes) {
        caf::anon_send(notify, DuplexData{link, std::move(bytes)});
      };
      handlers.closed = [notify, link](Error why) {
        caf::anon_send(notify, DuplexClosed{link, static_cast<std::uint8_t>(why.code),
                                            std::move(why.message)});
      };
      return self->state.reactor->open_duplex(std::move(open.socket), std::move(open.handshake),
                                              std::move(open.reply_prefix),
                                              std::chrono::milliseconds(open.timeout_ms),
                                              std::move(handlers));
    },
    [self](DuplexWrite& write) {
      auto promise = self->make_response_promise<Ack>();
      auto id = self->state.next_id++;
      self->state.waits.emplace(id, promise);
      caf::actor me = caf::actor_cast<caf::actor>(self);
      self->state.reactor->send_duplex(write.token, std::move(write.bytes), post_wait(me, id));
      return promise;
    },
    [self](DuplexClose& close) { self->state.reactor->close_duplex(close.token); },
    [self](HttpCall& call) {
      auto promise = self->make_response_promise<HttpReply>();
      auto id = self->state.next_id++;
      self->state.http.emplace(id, promise);
      caf::actor me = caf::actor_cast<caf::actor>(self);
      self->state.reactor->http(
        std::move(call.socket), std::move(call.method), std::move(call.path),
        std::move(call.body), std::chrono::milliseconds(call.timeout_ms),
        [me, id](Result<HttpResponse> result) {
          HttpDone done{id, 0, {}, 0, {}};
          if (result) {
            done.status = result->status;
            done.body = std::move(result->body);
          } else {
            done.code = static_cast<std::uint8_t>(result.error().code);
            done.error = result.error().message;
          }
          caf::anon_send(me, std::move(done));
        });
      return promise;
    },
    [self](HttpSequence& sequence) -> caf::result<HttpReplies> {
      if (sequence.calls.empty())
        return HttpReplies{};
      auto promise = self->make_response_promise<HttpReplies>();
      auto id = self->state.next_id++;
      self->state.sequences.emplace(id, promise);
      run_sequence(*self->state.reactor, caf::actor_cast<caf::actor>(self), id,
                   std::make_shared<std::vector<HttpCall>>(std::move(sequence.calls)),
                   std::make_shared<HttpReplies>(), 0);
      return promise;
    },
    [self](SequenceDone& done) {
      auto it = self->state.sequences.find(done.id);
      if (it == self->state.sequences.end())
        return;
      it->second.deliver(std::move(done.replies));
      self->state.sequences.erase(it);
    },
    [self](SocketWait& wait) {
      auto promise = self->make_response_promise<Ack>();
      auto id = self->state.next_id++;
      self->state.waits.emplace(id, promise);
      caf::actor me = caf::actor_cast<caf::actor>(self);
      self->state.reactor->wait_for_socket(std::move(wait.socket),
                                           std::chrono::milliseconds(wait.timeout_ms),
                                           post_wait(me, id), wait.keep_connection);
      return promise;
    },
    [self](GuestProbe& probe) {
      auto promise = self->make_response_promise<Ack>();
      auto id = self->state.next_id++;
      self->state.waits.emplace(id, promise);
      caf::actor me = caf::actor_cast<caf::actor>(self);
      self->state.reactor->wait_for_banner(std::move(probe.ip), probe.port,
                                           std::move(probe.banner),
                                           std::chrono::milliseconds(probe.timeout_ms),
                                           post_wait(me, id));
      return promise;
    },
    [self](QmpCall& call) -> caf::result<QmpReply> {
      int pass_fd = -1;
      if (!call.pass_file.empty()) {
        auto opened = qemu::open_stream_file(call.pass_file, call.pass_for_writing);
        if (!opened)
          return to_caf_error(opened.error(), "");
        pass_fd = *opened;
      }
      auto promise = self->make_response_promise<QmpReply>();
      auto id = self->state.next_id++;
      self->state.qmp.emplace(id, promise);
      caf::actor me = caf::actor_cast<caf::actor>(self);
      auto count = call.commands.size();
      auto commands = call.commands;
      bool until_migration_ends = call.until_migration_ends;
      self->state.reactor->exchange(
        std::move(call.socket), qemu::qmp_request(call.commands),
        [count, until_migration_ends](const std::string& data, bool, std::string& error) {
          return until_migration_ends ? qemu::qmp_complete_migration(data, count, error)
                                      : qemu::qmp_complete(data, count, error);
        },
        std::chrono::milliseconds(call.timeout_ms),
        [me, id, commands = std::move(commands)](Result<std::string> raw) {
          QmpDone done{id, {}, {}, 0, {}};
          auto returns = raw ? qemu::qmp_returns(*raw, commands)
                             : Result<std::vector<std::string>>{raw.error()};
          if (returns) {
            done.returns = std::move(*returns);
            done.migration = qemu::migration_end(*raw);
          } else {
            done.code = static_cast<std::uint8_t>(returns.error().code);
            done.error = returns.error().message;
          }
          caf::anon_send(me, std::move(done));
        },
        pass_fd);
      return promise;
    },
    [self](ExitWatch& watch) -> caf::result<std::uint64_t> {
      auto notify = watch.notify;
      auto pid = watch.pid;
      auto token = self->state.reactor->watch_exit(
        pid, [notify, pid] { caf::anon_send(notify, VmmExited{pid}); });
      if (!token)
        return to_caf_error(token.error(), "");
      return *token;
    },
    [self](ExitUnwatch& unwatch) { self->state.reactor->unwatch(unwatch.token); },
    [self](HttpDone& done) {
      auto it = self->state.http.find(done.id);
      if (it == self->state.http.end())
        return;
      if (done.code == 0)
        it->second.deliver(HttpReply{done.status, std::move(done.body)});
      else
        it->second.deliver(make_error(static_cast<Errc>(done.code), std::move(done.error), ""));
      self->state.http.erase(it);
    },
    [self](QmpDone& done) {
      auto it = self->state.qmp.find(done.id);
      if (it == self->state.qmp.end())
        return;
      if (done.code == 0)
        it->second.deliver(QmpReply{std::move(done.returns), std::move(done.migration)});
      else
        it->second.deliver(make_error(static_cast<Errc>(done.code), std::move(done.error), ""));
      self->state.qmp.erase(it);
    },
    [self](WaitDone& done) {
      auto it = self->state.waits.find(done.id);
      if (it == self->state.waits.end())
        return;
      if (done.code == 0)
        it->second.deliver(Ack{});
      else
        it->second.deliver(make_error(static_cast<Errc>(done.code), std::move(done.error), ""));
      self->state.waits.erase(it);
    },
  };
}

} // namespace

vmm_io_actor spawn_vmm_io_actor(caf::actor_system& sys) {
  // At least one argument: CAF 0.17 binds a reference to a null argument
  // tuple for argument-less function actors (UBSan aborts the daemon).
  return caf::actor_cast<vmm_io_actor>(sys.spawn(io_behavior, std::string("vmm_io")));
}

} // namespace banger
