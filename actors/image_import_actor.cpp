#include "actors/image_import_actor.hpp"

#include "messages/log.hpp"

#include <caf/all.hpp>

namespace banger {

namespace {

const log::Logger log_{"images"};

/// Bytes copied per step: big enough that a message per step costs
/// nothing, small enough that progress and an exit are seen often.
constexpr std::uint64_t step_bytes = 32ull << 20;

struct ImportStep {};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ImportStep&) {
  return f(caf::meta::type_name("banger.internal.ImportStep"));
}

using importer_actor = caf::typed_actor<caf::reacts_to<ImportStep>>;

struct ImporterState {
  ImporterState() = default; // not an aggregate: CAF must not build it from `self`
  images_actor parent;
  std::string op_id;
  std::shared_ptr<ImageImport> job;
  static inline const char* name = "importer";
};

importer_actor::behavior_type importer(importer_actor::stateful_pointer<ImporterState> self,
                                       images_actor parent, std::string op_id,
                                       std::shared_ptr<ImageImport> job) {
  self->state.parent = std::move(parent);
  self->state.op_id = std::move(op_id);
  self->state.job = std::move(job);
  // Ends with the catalog (a daemon shutdown); the job's destructor removes
  // the partial folder. A monitor, not a link: a failed import must not
  // take the catalog down.
  self->monitor(self->state.parent);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  self->send(self, ImportStep{});
  return {
    [self](ImportStep) {
      auto& st = self->state;
      auto finished = st.job->step(step_bytes);
      if (!finished) {
        // The partial folder goes before the catalog hears of the failure:
        // whoever sees the error sees nothing left behind.
        st.job.reset();
        auto err = std::move(finished).error();
        self->send(st.parent, ImportFinished{st.op_id, static_cast<std::uint8_t>(err.code),
                                             std::move(err.message), ""});
        self->quit();
        return;
      }
      self->send(st.parent, ImportProgress{st.op_id, st.job->current_role(), st.job->bytes_done()});
      if (*finished) {
        self->send(st.parent, ImportFinished{st.op_id, 0, "", st.job->methods()});
        self->quit();
        return;
      }
      self->send(self, ImportStep{});
    },
  };
}

} // namespace

void spawn_importer(images_actor::pointer parent, std::string op_id,
                    std::shared_ptr<ImageImport> job) {
  log_.debug("import started", {{"op_id", op_id}, {"bytes", std::to_string(job->bytes_total())}});
  parent->spawn<caf::detached>(importer, caf::actor_cast<images_actor>(parent),
                               std::move(op_id), std::move(job));
}

} // namespace banger
