#include "controller/replica.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "controller/service.h"

namespace weft {

Replica::Replica(Controller* controller, StateStore* store, std::string name,
                 StatusChanged on_status)
    : controller_(controller),
      store_(store),
      name_(std::move(name)),
      on_status_(std::move(on_status)),
      republisher_([this] { RepublishLoop(); }) {}

Replica::~Replica() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  republisher_.join();
}

absl::Status Replica::Start() {
  RETURN_IF_ERROR(store_->Start(
      [this](StoreSnapshot snapshot) { OnSnapshot(std::move(snapshot)); },
      [this](bool reachable, const std::string& why) { OnReachable(reachable, why); }));
  store_up_ = true;
  if (on_status_) on_status_(*this);
  return absl::OkStatus();
}

void Replica::Stop() {
  if (!std::exchange(stopped_, true)) store_->Stop();
}

void Replica::OnSnapshot(StoreSnapshot snapshot) {
  const bool first = std::exchange(first_, false);
  const std::string source = absl::StrCat("store revision ", snapshot.revision);
  // Marks the end of the initial read (and decode) in the log, so that a
  // cold start splits into reading the store, validating and building views.
  if (first) WEFT_LOG_INFO("%s read from the store; validating it", source);
  std::optional<State> state;
  if (first || snapshot.state_changed) {
    absl::Status refused = snapshot.state.status();
    if (refused.ok()) refused = ValidateDesiredState(*snapshot.state);
    if (refused.ok()) {
      state = *std::move(snapshot.state);
      state->version = snapshot.state_version;
    } else {
      controller_->EditRejected();
      WEFT_LOG_ERROR(
          "%s: the state written at version %d is refused: %s; still serving version %d%s", source,
          snapshot.state_version, refused.message(), controller_->version(),
          ready_ ? "" : " (no valid state yet: not ready)");
    }
  }
  std::optional<LearnedReports> learned;
  if (first || snapshot.learned_changed) learned = std::move(snapshot.learned);
  const bool installs_state = state.has_value();
  if (absl::Status installed =
          controller_->InstallAt(snapshot.revision, std::move(state), std::move(learned), source);
      !installed.ok()) {
    WEFT_LOG_ERROR("%s not installed: %s", source, installed.message());
    return;
  }
  if (installs_state && !ready_.exchange(true) && on_status_) on_status_(*this);
}

void Replica::OnReachable(bool reachable, const std::string& why) {
  if (store_up_.exchange(reachable) == reachable) return;
  if (reachable) {
    WEFT_LOG_INFO("the state store answers again (%s): catching up", why);
    {
      std::lock_guard<std::mutex> lock(mu_);
      republish_ = true;
    }
    cv_.notify_all();
  } else {
    WEFT_LOG_ERROR(
        "the state store does not answer (%s): serving version %d as it is, refusing writes", why,
        controller_->version());
  }
  if (on_status_) on_status_(*this);
}

void Replica::RepublishLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return republish_ || stopping_; });
    if (stopping_) return;
    republish_ = false;
    lock.unlock();
    controller_->Republish();
    lock.lock();
  }
}

}  // namespace weft
