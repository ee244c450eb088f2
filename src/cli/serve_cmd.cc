// storyloom serve: the HTTP server and the workflow engine.
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/app.h"
#include "api/auth.h"
#include "cli/app_wiring.h"
#include "cli/commands.h"
#include "core/ids.h"
#include "db/database.h"
#include "db/url.h"
#include "http/log_limiter.h"
#include "http/server.h"
#include "ops/file_deletes.h"
#include "ops/scheduler.h"
#include "ops/server_metrics.h"

namespace storyloom::cli {
namespace {

struct ServeFlags {
  std::string host;
  int port = -1;
  int workers = -1;
  int io_threads = -1;
};

// Every connection, served file and upload takes a descriptor: raise the soft limit to the
// hard one (the connection cap is a share of it).
void RaiseFileLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    spdlog::warn("cannot raise the open-file limit from {}: {}", before, std::strerror(errno));
  }
}

// On first start there is no user: make an admin, and say once how to sign in (PrintFirstUser,
// when the server listens and its address is known).
struct FirstUser {
  std::string password;
  std::string link_secret;
};

Result<std::optional<FirstUser>> BootstrapAdmin(Store& store, api::Authenticator& auth) {
  SL_ASSIGN_OR_RETURN(auto users,
                      store.ReadOne<std::int64_t>([](StoreTx& tx) { return tx.users().Count(); }));
  if (users > 0) return std::nullopt;
  FirstUser first{core::RandomToken(12), ""};
  User admin;
  admin.username = "admin";
  admin.role = Role::kAdmin;
  SL_ASSIGN_OR_RETURN(admin.password_hash, api::Authenticator::HashPassword(first.password));
  SL_ASSIGN_OR_RETURN(admin,
                      store.WriteOne<User>([&](StoreTx& tx) { return tx.users().Create(admin); }));
  SL_ASSIGN_OR_RETURN(auto link, auth.Issue(admin.id, "login", "first start", 24LL * 3600 * 1000));
  first.link_secret = link.secret;
  return first;
}

void PrintFirstUser(const FirstUser& first, const core::Config& config) {
  std::printf(
      "\nCreated the first user: admin\n"
      "  password: %s   (change it with: storyloom users passwd admin)\n"
      "  or open this one-time sign-in link (valid 24 hours):\n"
      "  %s/login?token=%s\n\n",
      first.password.c_str(), config.PublicUrl().c_str(), first.link_secret.c_str());
}

int Serve(const GlobalFlags& flags, const ServeFlags& sf) {
  core::Config config = LoadConfigOrExit(flags);
  if (!sf.host.empty()) config.host = sf.host;
  if (sf.port >= 0) config.port = sf.port;
  if (sf.workers >= 0) config.workers = sf.workers;
  if (sf.io_threads > 0) config.io_threads = sf.io_threads;
  SetupLogging(config);

  // Signals are taken by sigwait below, not by whichever thread they land on.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  RaiseFileLimit();
  auto rt = BuildRuntime(config);
  if (!rt) return Die(rt.error().message);
  Runtime& r = **rt;
  api::Authenticator auth(*r.store);
  auto first_user = BootstrapAdmin(*r.store, auth);
  if (!first_user) return Die(first_user.error().message);

  api::App app{config, *r.store, *r.files, *r.bus, *r.relay, *r.manager, *r.usage, auth, nullptr};
  ops::ServerMetricsOptions mopts;
  mopts.data_dir = config.data_dir;
  mopts.min_free_disk_bytes = config.min_free_disk_bytes;
  if (auto u = db::ParseDatabaseUrl(config.DatabaseUrl()); u && !u->sqlite_path.empty()) {
    mopts.sqlite_path = u->sqlite_path;
  }
  mopts.running_here = [&r] { return r.manager->running(); };
  ops::ServerMetrics metrics(*r.store, mopts);
  app.metrics = &metrics;
  r.usage->SetRecordObserver([&metrics](const ApiUsage& u) {
    metrics.ObserveProviderCall(u.provider, u.model, u.operation,
                                static_cast<double>(u.duration_ms) / 1000.0);
  });
  // Single-file deletes a crash interrupted between their commit and the unlink.
  if (auto n = ops::FinishFileDeletes(*r.store, *r.files); !n) {
    spdlog::warn("could not finish pending file deletes: {}", n.error().message);
  }
  auto router = api::BuildRouter(app);
  r.relay->Start();  // from here other instances' events reach this one's SSE streams
  http::ServerOptions so;
  so.host = config.host;
  so.port = static_cast<std::uint16_t>(config.port);
  so.io_threads = config.io_threads;
  so.worker_threads = config.http_workers;
  so.default_max_body = config.max_body_bytes;
  so.read_timeout_ms = config.read_timeout_ms;
  so.request_timeout_ms = config.request_timeout_ms;
  so.write_timeout_ms = config.write_timeout_ms;
  so.max_connections = config.max_connections;
  so.max_connections_per_ip = config.max_connections_per_ip;
  so.max_upload_tmp_bytes = config.max_upload_tmp_bytes;
  so.upload_dir = config.TmpDir();
  const bool access_log = config.access_log;
  {
    // Refused requests (4xx/5xx) are logged at most once a second per client address, with
    // the number left out: a flood of bad requests must not flood the log.
    auto refused_log = std::make_shared<http::LogLimiter>(std::chrono::seconds(1), 4096);
    so.on_complete = [&metrics, access_log, refused_log](
                         const http::Request& req, const http::Response& res,
                         const std::string& route, double seconds, std::uint64_t bytes) {
      metrics.ObserveHttp(req.method, route, res.status, seconds);
      if (!access_log) return;
      std::uint64_t suppressed = 0;
      if (res.status >= 400 && !refused_log->Allow(req.remote_addr, &suppressed)) return;
      nlohmann::json line{
          {"event", "http"}, {"method", req.method},      {"path", req.path},
          {"route", route},  {"status", res.status},      {"ms", seconds * 1000.0},
          {"bytes", bytes},  {"remote", req.remote_addr}, {"request_id", req.request_id}};
      if (suppressed > 0) line["suppressed"] = suppressed;
      spdlog::info("{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    };
  }
  http::Server server(so, router);
  if (auto s = server.Start(); !s) return Die(s.error().message);
  {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    spdlog::info("accepting up to {} connections ({} per address; open-file limit {})",
                 server.max_connections(), config.max_connections_per_ip,
                 static_cast<long long>(rl.rlim_cur));
  }
  r.manager->Start();
  ops::SchedulerOptions sched;
  sched.backup_interval_hours = config.backup_interval_hours;
  sched.backup_keep_daily = config.backup_keep_daily;
  sched.backup_keep_weekly = config.backup_keep_weekly;
  sched.backups_dir = config.BackupsDir();
  sched.cleanup_interval_hours = config.cleanup_interval_hours;
  sched.retention_completed_days = config.retention_completed_days;
  sched.retention_failed_days = config.retention_failed_days;
  sched.retention_usage_days = config.retention_usage_days;
  ops::OpsScheduler scheduler(*r.store, *r.files, sched);
  scheduler.Start();
  config.port = server.port();  // the kernel's pick under --port 0
  if (*first_user) PrintFirstUser(**first_user, config);
  std::printf("Storyloom is running at %s (database %s, %d workers). Press Ctrl+C to stop.\n",
              config.PublicUrl().c_str(), r.store->display_url().c_str(), config.workers);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server.Stop(5000);  // no new requests; in-flight ones finish
  scheduler.Stop();   // a backup or cleanup in progress finishes first
  api::ShutdownApp(app);
  r.relay->Stop();
  r.manager->Stop();  // running workflows stop at a step boundary and stay resumable
  r.usage->SetRecordObserver(nullptr);  // `metrics` goes first
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static ServeFlags sf;
  CLI::App* cmd =
      app.add_subcommand("serve", "Run the HTTP API, the web UI and the workflow engine");
  cmd->add_option("--host", sf.host, "address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", sf.port, "port (default 8080; 0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--workers", sf.workers,
                  "workflows run at once; 0 serves the API only (STORYLOOM_WORKERS)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--io-threads", sf.io_threads, "HTTP io threads (default 1)")
      ->check(CLI::Range(1, 64));
  cmd->callback([&] { action = [&] { return Serve(flags, sf); }; });
}

}  // namespace storyloom::cli
