// Store throughput: create_workflow, add_generated_file and get_workflow-with-files from 1
// and 8 threads, on a real SQLite file with synchronous=FULL (every call durable).
// Run: build/bench/store_bench (see docs/PERFORMANCE.md).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>

#include "core/hash.h"
#include "db/migrations.h"
#include "storyloom/store.h"

namespace storyloom {
namespace {

struct Fixture {
  std::string dir;
  std::unique_ptr<Store> store;
  std::string user;
  std::vector<std::string> workflows;  // with 8 files each, for reads
};

std::string BenchUrl() {
  if (const char* url = std::getenv("STORYLOOM_BENCH_DATABASE_URL")) return url;
  return "";
}

Fixture& Shared() {
  static Fixture* f = [] {
    auto* fx = new Fixture;
    std::string url = BenchUrl();
    if (url.empty()) {
      fx->dir = std::filesystem::temp_directory_path() /
                ("storyloom-bench-" + std::to_string(::getpid()));
      std::filesystem::remove_all(fx->dir);
      std::filesystem::create_directories(fx->dir);
      url = "sqlite://" + fx->dir + "/bench.db";
    }
    fx->store = std::move(*Store::Open(url));
    (void)fx->store->Migrate();
    User u;
    u.username = "bench-" + std::to_string(::getpid());
    fx->user = fx->store->WriteOne<User>([&](StoreTx& tx) { return tx.users().Create(u); })->id;
    for (int i = 0; i < 200; ++i) {
      auto w = fx->store->CreateWorkflow({fx->user, "read me " + std::to_string(i), "", "{}", ""});
      for (int k = 0; k < 8; ++k) {
        const std::string path = w->workflow.id + "/images/scene_" + std::to_string(k) + ".png";
        (void)fx->store->AddGeneratedFile({w->workflow.id, "", FileType::kImage, path, "x.png",
                                           "image/png", 1000, core::Sha256Hex(path),
                                           R"({"scene_number":1})"});
      }
      fx->workflows.push_back(w->workflow.id);
    }
    return fx;
  }();
  return *f;
}

void BM_CreateWorkflow(benchmark::State& state) {
  Fixture& f = Shared();
  for (auto _ : state) {
    auto r = f.store->CreateWorkflow({f.user, "A lighthouse keeper finds a map", "", "{}", ""});
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CreateWorkflow)->Threads(1)->Threads(8)->UseRealTime()->MinTime(2.0);

void BM_AddGeneratedFile(benchmark::State& state) {
  Fixture& f = Shared();
  static std::atomic<std::int64_t> seq{0};
  const std::string wid = f.workflows[state.thread_index() % f.workflows.size()];
  for (auto _ : state) {
    const std::string path = wid + "/audio/" + std::to_string(seq++) + ".wav";
    auto r = f.store->AddGeneratedFile(
        {wid, "", FileType::kAudio, path, "a.wav", "audio/wav", 4096, core::Sha256Hex(path), "{}"});
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddGeneratedFile)->Threads(1)->Threads(8)->UseRealTime()->MinTime(2.0);

void BM_GetWorkflowWithFiles(benchmark::State& state) {
  Fixture& f = Shared();
  std::size_t i = state.thread_index();
  for (auto _ : state) {
    const std::string& id = f.workflows[i++ % f.workflows.size()];
    auto r = f.store->Read([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(auto w, tx.workflows().Get(id));
      SL_ASSIGN_OR_RETURN(auto files, tx.files().List({.workflow_id = id}));
      benchmark::DoNotOptimize(w);
      benchmark::DoNotOptimize(files);
      return {};
    });
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetWorkflowWithFiles)->Threads(1)->Threads(8)->UseRealTime()->MinTime(2.0);

}  // namespace
}  // namespace storyloom

BENCHMARK_MAIN();
