#include "api/sse_hub.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

namespace storyloom::api {

std::string FormatSse(const WorkflowEvent& e) {
  std::string out = "id: " + std::to_string(e.id) + "\nevent: " + e.type + "\ndata: ";
  // data is one line of JSON (no raw newlines in compact JSON).
  out += e.data_json;
  out += "\n\n";
  return out;
}

class SseHub::Stream : public http::SseSource, public std::enable_shared_from_this<Stream> {
 public:
  Stream(std::weak_ptr<SseHub> hub, std::string workflow_id, std::int64_t last_id)
      : hub_(std::move(hub)), workflow_id_(std::move(workflow_id)), last_id_(last_id) {}

  void Start(std::shared_ptr<http::SseSink> sink) override {
    auto hub = hub_.lock();
    if (!hub) {
      sink->Close();
      return;
    }
    {
      std::lock_guard lock(mu_);
      sink_ = sink;
    }
    // Subscribe before replaying so nothing committed in between is missed; duplicates are
    // dropped by id.
    std::weak_ptr<Stream> weak = shared_from_this();
    sub_ = hub->bus_.Subscribe(workflow_id_, [weak](const WorkflowEvent& e) {
      if (auto s = weak.lock()) s->Deliver(e);
    });
    hub->Add(shared_from_this());
    // The status is read before the replay: when it was already final, the replay holds every
    // event there will be, and a stream resumed past the last one ends instead of idling.
    auto w = hub->store_.ReadOne<Workflow>(
        [&](StoreTx& tx) { return tx.workflows().Get(workflow_id_); });
    const bool final_before = !w || IsTerminal(w->status);
    CatchUp(hub->store_);
    if (final_before) Close();
  }

  // Sends events committed after the last one sent (the replay at the start).
  void CatchUp(Store& store) {
    std::vector<std::shared_ptr<Stream>> self{shared_from_this()};
    CatchUpAll(store, workflow_id_, self);
  }

  // Catches up `streams`, all of workflow `workflow_id`, with the events committed after
  // the last one each has sent (cross-instance wake-ups and polls). The streams share the
  // reads: each batch is read once, from the earliest event any of them still needs, and
  // offered to all of them (Deliver drops what a stream has already sent), so 10,000
  // streams of one workflow cost one read, not 10,000.
  static void CatchUpAll(Store& store, const std::string& workflow_id,
                         const std::vector<std::shared_ptr<Stream>>& streams) {
    constexpr int kBatch = 500;
    for (;;) {
      std::optional<std::int64_t> after;
      for (const auto& s : streams) {
        if (auto id = s->Needs()) after = after ? std::min(*after, *id) : *id;
      }
      if (!after) return;
      auto events = store.ReadOne<std::vector<WorkflowEvent>>(
          [&](StoreTx& tx) { return tx.events().List(workflow_id, *after, kBatch); });
      if (!events || events->empty()) return;
      for (const auto& s : streams) {
        for (const auto& e : *events) s->Deliver(e);
      }
      if (events->size() < static_cast<std::size_t>(kBatch)) return;
    }
  }

  // The id after which this stream needs events; nullopt once it is done.
  std::optional<std::int64_t> Needs() {
    std::lock_guard lock(mu_);
    if (done_) return std::nullopt;
    return last_id_;
  }

  void Deliver(const WorkflowEvent& e) {
    std::lock_guard lock(mu_);
    if (done_ || !sink_ || e.id <= last_id_) return;
    last_id_ = e.id;
    if (!sink_->Send(FormatSse(e))) {
      done_ = true;
      return;
    }
    if (e.type == "status") {
      auto j = nlohmann::json::parse(e.data_json, nullptr, false);
      const std::string status = j.is_object() ? j.value("status", "") : "";
      if (status == "completed" || status == "failed" || status == "cancelled") {
        done_ = true;
        sink_->Close();
      }
    }
  }

  bool done() {
    std::lock_guard lock(mu_);
    return done_ || !sink_ || sink_->closed();
  }

  void Close() {
    std::lock_guard lock(mu_);
    done_ = true;
    if (sink_) sink_->Close();
  }

  void DropSubscription() { sub_.reset(); }
  const std::string& workflow_id() const { return workflow_id_; }

 private:
  std::weak_ptr<SseHub> hub_;
  const std::string workflow_id_;
  std::mutex mu_;
  std::int64_t last_id_;                 // guarded by mu_
  bool done_ = false;                    // guarded by mu_
  std::shared_ptr<http::SseSink> sink_;  // guarded by mu_
  std::unique_ptr<engine::EventBus::Subscription> sub_;
};

SseHub::SseHub(Store& store, engine::EventBus& bus) : store_(store), bus_(bus) {}

std::shared_ptr<SseHub> SseHub::Make(Store& store, engine::EventBus& bus,
                                     engine::EventRelay& relay) {
  auto hub = std::make_shared<SseHub>(store, bus);
  std::weak_ptr<SseHub> weak = hub;
  auto sub = relay.Subscribe([weak](const std::set<std::string>* workflow_ids) {
    if (auto h = weak.lock()) h->CatchUp(workflow_ids);
  });
  std::lock_guard lock(hub->mu_);
  hub->relay_sub_ = std::move(sub);
  return hub;
}

SseHub::~SseHub() { Shutdown(); }

std::shared_ptr<http::SseSource> SseHub::Open(const std::string& workflow_id,
                                              std::int64_t last_event_id) {
  return std::make_shared<Stream>(weak_from_this(), workflow_id, last_event_id);
}

void SseHub::Add(const std::shared_ptr<Stream>& s) {
  std::lock_guard lock(mu_);
  streams_.insert(s);
}

std::size_t SseHub::streams() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

void SseHub::Shutdown() {
  std::set<std::shared_ptr<Stream>> all;
  std::unique_ptr<engine::EventRelay::Subscription> sub;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    all.swap(streams_);
    sub = std::move(relay_sub_);
  }
  sub.reset();  // outside mu_: a relay callback may be waiting for it in LiveStreams
  for (const auto& s : all) {
    s->Close();
    s->DropSubscription();
  }
}

std::vector<std::shared_ptr<SseHub::Stream>> SseHub::LiveStreams(
    const std::set<std::string>* workflow_ids) {
  std::vector<std::shared_ptr<Stream>> live;
  std::lock_guard lock(mu_);
  for (auto it = streams_.begin(); it != streams_.end();) {
    if ((*it)->done()) {
      (*it)->DropSubscription();
      it = streams_.erase(it);
      continue;
    }
    if (!workflow_ids || workflow_ids->contains((*it)->workflow_id())) live.push_back(*it);
    ++it;
  }
  return live;
}

void SseHub::CatchUp(const std::set<std::string>* workflow_ids) {
  std::map<std::string, std::vector<std::shared_ptr<Stream>>> by_workflow;
  for (auto& s : LiveStreams(workflow_ids)) {
    const std::string id = s->workflow_id();
    by_workflow[id].push_back(std::move(s));
  }
  for (const auto& [id, streams] : by_workflow) Stream::CatchUpAll(store_, id, streams);
}

}  // namespace storyloom::api
