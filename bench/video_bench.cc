// Story video encode speed and memory (issue 17): a six-scene offline story (scene cards
// and espeak-ng narrations, as the offline provider makes them) encoded to story.mp4.
// Reports the video's length, how many times faster than real time it encodes, seconds of
// encoding per minute of video, and the process's peak RSS. Run one resolution per process
// so that the peak RSS is that resolution's, on one core:
//   taskset -c 0 build/bench/video_bench --benchmark_filter=BM_EncodeStoryVideo/720
// (docs/PERFORMANCE.md "Story video (#17)").
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "media/story_video.h"
#include "providers/offline/offline_provider.h"

namespace storyloom {
namespace {

struct Inputs {
  std::filesystem::path dir;
  media::VideoSpec spec;
  std::string error;
};

void Save(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

Inputs& Shared() {
  static Inputs* in = [] {
    auto* s = new Inputs;
    s->dir = std::filesystem::temp_directory_path() /
             ("storyloom-video-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(s->dir);
    auto provider = providers::MakeOfflineProvider({.temp_dir = s->dir});
    providers::StoryRequest req;
    req.prompt = "A lighthouse keeper finds a map to a drowned city";
    req.scenes = 6;
    providers::CallContext ctx;
    ctx.record_usage = [](ApiUsage&) -> Result<void> { return {}; };
    auto story = provider->WriteStory(req, ctx);
    if (!story) {
      s->error = story.error().ToString();
      return s;
    }
    auto scenes = provider->BreakdownScenes(req, *story, ctx);
    if (!scenes) {
      s->error = scenes.error().ToString();
      return s;
    }
    s->spec.title = story->title;
    for (const providers::SceneSpec& scene : *scenes) {
      auto image = provider->RenderImage(req, scene, ctx);
      auto audio = provider->Narrate(req, scene, ctx);
      if (!image || !audio) {
        s->error = !image ? image.error().ToString() : audio.error().ToString();
        return s;
      }
      const auto n = std::to_string(scene.number);
      Save(s->dir / ("scene" + n + ".png"), image->bytes);
      Save(s->dir / ("scene" + n + ".wav"), audio->bytes);
      s->spec.scenes.push_back({scene.number, (s->dir / ("scene" + n + ".png")).string(),
                                (s->dir / ("scene" + n + ".wav")).string(), scene.narration});
    }
    std::atexit([] { std::filesystem::remove_all(Shared().dir); });
    return s;
  }();
  return *in;
}

// The resident set now (VmRSS), in MB.
double RssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

double PeakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

void BM_EncodeStoryVideo(benchmark::State& state) {
  Inputs& in = Shared();
  if (!in.error.empty()) {
    state.SkipWithError(in.error.c_str());
    return;
  }
  media::VideoSpec spec = in.spec;
  spec.height = static_cast<int>(state.range(0));
  spec.width = spec.height * 16 / 9;
  auto timeline = media::PlanTimeline(spec);
  if (!timeline) {
    state.SkipWithError(timeline.error().ToString().c_str());
    return;
  }
  const std::string out = (in.dir / "story.mp4").string();
  const double rss_before = RssMb();  // libraries, fonts and the inputs, before encoding
  double encode_s = 0;
  std::int64_t bitrate = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto info = media::EncodeStoryVideo(spec, *timeline, out, nullptr, nullptr);
    encode_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!info) {
      state.SkipWithError(info.error().ToString().c_str());
      return;
    }
    bitrate = info->bitrate;
  }
  // STORYLOOM_VIDEO_BENCH_KEEP=<dir>: keep the last story.mp4 there, to look at.
  if (const char* keep = std::getenv("STORYLOOM_VIDEO_BENCH_KEEP")) {
    std::error_code ec;
    std::filesystem::copy_file(
        out, std::filesystem::path(keep) / ("story-" + std::to_string(spec.height) + "p.mp4"),
        std::filesystem::copy_options::overwrite_existing, ec);
  }
  const double video_s = timeline->duration;
  const double per_run = encode_s / static_cast<double>(state.iterations());
  state.counters["video_s"] = video_s;
  state.counters["x_realtime"] = video_s / per_run;
  state.counters["s_per_video_min"] = per_run * 60 / video_s;
  state.counters["peak_rss_MB"] = PeakRssMb();
  state.counters["rss_before_MB"] = rss_before;
  state.counters["kbit_s"] = static_cast<double>(bitrate) / 1000;
}
BENCHMARK(BM_EncodeStoryVideo)
    ->Arg(720)
    ->Arg(1080)
    ->Iterations(2)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace storyloom

BENCHMARK_MAIN();
