// Production PostgreSQL (docs/OPERATIONS.md "Production PostgreSQL"): TLS with
// sslmode=verify-full against a server whose certificate comes from a CA the test makes
// (and a clear failure, without the password, on a wrong CA or a plaintext attempt); a real
// PgBouncer in transaction pooling mode in front of the test server (unnamed statements, no
// LISTEN, migrations under a transaction-scoped lock, two `storyloom serve` instances
// behind it); roles without superuser (the extension the migrations need, and the one line
// that says what an administrator must run).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "db/database.h"
#include "db/migrations.h"
#include "db/url.h"
#include "support/checks.h"
#include "support/pg_bouncer.h"
#include "support/pg_server.h"
#include "support/server_process.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::PgBouncer;
using testing::RunCli;
using testing::RunningEvents;
using testing::ServerOptions;
using testing::ServerProcess;
using testing::TempDir;
using testing::TestDatabase;
using testing::WaitForWorkflow;

std::unique_ptr<db::Database> MustOpen(const std::string& url, int readers = 2) {
  auto d = db::Open(url, {.readers = readers});
  if (!d) throw std::runtime_error(url + ": " + d.error().ToString());
  return std::move(*d);
}

// The first column of `sql`'s first row on `url`, a number.
std::int64_t QueryInt(const std::string& url, const std::string& sql) {
  return std::stoll(testing::QueryText(url, sql));
}

void Script(db::Database& d, const std::string& sql) {
  auto r = d.Exclusive([&](db::Connection& c) { return c.ExecScript(sql); });
  ASSERT_TRUE(r.has_value()) << sql << ": " << r.error().ToString();
}

// Creates a workflow of one scene as alice and waits for it to complete.
void RunOneWorkflow(const ServerProcess& server, const std::string& prompt) {
  auto c = server.Client("alice");
  auto r = c->Post("/api/v1/workflows",
                   {{"prompt", prompt}, {"options", {{"scenes", 1}, {"narration", false}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  json w = WaitForWorkflow(*c, r.Json()["id"], 120000);
  EXPECT_EQ(w["status"], "completed") << w.dump(2) << server.log();
}

// ---------------------------------------------------------------------------------------
// The URL

TEST(PostgresUrlTest, PoolModeIsTakenOutAndPasswordsAreHidden) {
  auto u = db::ParseDatabaseUrl(
      "postgresql://app:pw1@db.internal:5432/sl?sslmode=verify-full&pool_mode=transaction&"
      "sslrootcert=/etc/ssl/ca.pem&sslpassword=pw2");
  ASSERT_TRUE(u.has_value()) << u.error().ToString();
  EXPECT_EQ(u->pool_mode, db::PoolMode::kTransaction);
  EXPECT_EQ(u->postgres_conninfo,
            "postgresql://app:pw1@db.internal:5432/sl?sslmode=verify-full&"
            "sslrootcert=/etc/ssl/ca.pem&sslpassword=pw2");
  EXPECT_EQ(u->display,
            "postgresql://app:***@db.internal:5432/sl?sslmode=verify-full&"
            "sslrootcert=/etc/ssl/ca.pem&sslpassword=***");

  u = db::ParseDatabaseUrl("postgresql://app@db/sl?pool_mode=session");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->pool_mode, db::PoolMode::kSession);
  EXPECT_EQ(u->postgres_conninfo, "postgresql://app@db/sl");

  u = db::ParseDatabaseUrl("postgresql://app@db/sl?password=pw3&host=/run/postgresql");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->pool_mode, db::PoolMode::kNone);
  EXPECT_EQ(u->display, "postgresql://app@db/sl?password=***&host=/run/postgresql");

  u = db::ParseDatabaseUrl("postgresql://app:pw4@db/sl?pool_mode=statement");
  ASSERT_FALSE(u.has_value());
  EXPECT_EQ(u.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(u.error().message.find("pool_mode must be session or transaction"), std::string::npos);
  EXPECT_EQ(u.error().message.find("pw4"), std::string::npos) << u.error().message;
}

// ---------------------------------------------------------------------------------------
// TLS: a server of the test's own with a certificate from a CA the test makes, TLS-only
// (hostssl) with a password.

constexpr const char* kTlsPassword = "tls-Secret-4711";

class PostgresTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TempDir();
    const std::string d = certs_->str();
    // A CA, a server certificate it signs for 127.0.0.1 and localhost, and another CA.
    const std::string cmd = fmt::format(
        "cd '{0}' && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj '/CN=Storyloom test CA' && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj '/CN=localhost' && "
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' >ext.cnf && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.crt -days 2 -extfile ext.cnf && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 "
        "-subj '/CN=Some other CA'",
        d);
    ASSERT_EQ(std::system((cmd + " >openssl.log 2>&1").c_str()), 0)
        << testing::ReadFileOrEmpty(*certs_ / "openssl.log");
    server_ = new testing::PrivatePgServer({{"TEST_PG_SSL_CERT", d + "/server.crt"},
                                            {"TEST_PG_SSL_KEY", d + "/server.key"},
                                            {"TEST_PG_PASSWORD", kTlsPassword}});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete certs_;
    server_ = nullptr;
    certs_ = nullptr;
  }

  // The server's `database` as storyloom with the password, host `host`, and `query`.
  static std::string Url(const std::string& database, const std::string& query,
                         const std::string& host = "127.0.0.1") {
    return fmt::format("postgresql://storyloom:{}@{}:{}/{}?{}", kTlsPassword, host, server_->port(),
                       database, query);
  }
  static std::string VerifyFull(const std::string& ca) {
    return "sslmode=verify-full&sslrootcert=" + (*certs_ / ca).string();
  }

  static TempDir* certs_;
  static testing::PrivatePgServer* server_;
};
TempDir* PostgresTlsTest::certs_ = nullptr;
testing::PrivatePgServer* PostgresTlsTest::server_ = nullptr;

TEST_F(PostgresTlsTest, VerifyFullMigratesAndRunsAWorkflowOverTls) {
  ASSERT_NE(server_, nullptr);
  {
    auto admin = MustOpen(Url("postgres", VerifyFull("ca.pem")));
    Script(*admin, "CREATE DATABASE tls_app");
  }
  const std::string url = Url("tls_app", VerifyFull("ca.pem"));
  {
    EXPECT_EQ(QueryInt(url, "SELECT ssl::int FROM pg_stat_ssl WHERE pid = pg_backend_pid()"), 1);
    auto d = MustOpen(url);
    auto migrated = db::Migrate(*d);
    ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
    EXPECT_EQ(migrated->status.pending.size(), 0u);
  }
  // The certificate names localhost too.
  EXPECT_EQ(QueryInt(Url("tls_app", VerifyFull("ca.pem"), "localhost"),
                     "SELECT count(*) FROM schema_migrations"),
            static_cast<std::int64_t>(db::MigrationsFor(db::Dialect::kPostgres).size()));

  ServerOptions o;
  o.database_url = url;
  o.workers = 1;
  ServerProcess server(o);
  RunOneWorkflow(server, "A voyage over an encrypted wire");
}

TEST_F(PostgresTlsTest, AWrongCaOrPlaintextFailsClearlyWithoutThePassword) {
  ASSERT_NE(server_, nullptr);
  // A certificate from another CA: refused, before any password is sent.
  auto wrong = db::Open(Url("postgres", VerifyFull("other.pem")), {.readers = 2});
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(wrong.error().message.find("certificate verify failed"), std::string::npos)
      << wrong.error().message;
  EXPECT_NE(wrong.error().message.find("storyloom:***@"), std::string::npos)
      << wrong.error().message;
  EXPECT_EQ(wrong.error().message.find(kTlsPassword), std::string::npos) << wrong.error().message;

  // No plaintext fallback: the server takes TLS only, and says so.
  auto plain = db::Open(Url("postgres", "sslmode=disable"), {.readers = 2});
  ASSERT_FALSE(plain.has_value());
  EXPECT_NE(plain.error().message.find("no encryption"), std::string::npos)
      << plain.error().message;
  EXPECT_EQ(plain.error().message.find(kTlsPassword), std::string::npos);

  // The CLI: one line, non-zero, no password.
  TempDir data;
  auto cli = RunCli(fmt::format("--data-dir '{}' --database '{}' db migrate", data.str(),
                                Url("postgres", VerifyFull("other.pem"))));
  EXPECT_NE(cli.exit_code, 0) << cli.out;
  EXPECT_NE(cli.LastLine().find("certificate verify failed"), std::string::npos) << cli.out;
  EXPECT_EQ(cli.out.find(kTlsPassword), std::string::npos) << cli.out;
}

// ---------------------------------------------------------------------------------------
// PgBouncer in transaction pooling mode in front of the shared test server.

TEST(PgBouncerTest, WithoutPoolModeTheConnectionFailsAndSaysWhatToAdd) {
  TestDatabase pg("postgres");
  PgBouncer bouncer(testing::PgAdminUrl(), "transaction", 2);
  auto d = db::Open(bouncer.UrlFor(pg.url(), ""), {.readers = 2});
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(d.error().message.find("unsupported startup parameter"), std::string::npos)
      << d.error().message;
  EXPECT_NE(d.error().message.find("pool_mode=transaction"), std::string::npos)
      << d.error().message;
}

// A pooler told to ignore the startup options lets named statements through, and loses
// them: one database prepares a statement on a server session; another holds that session
// (PgBouncer hands out the most recently used) in a transaction, so the first one's next
// transaction runs on another session, where the statement does not exist. With
// pool_mode=transaction the same sequence works (unnamed statements).
TEST(PgBouncerTest, NamedStatementsAreLostBehindATransactionPoolerUnlessPoolModeSaysSo) {
  TestDatabase pg("postgres");
  PgBouncer bouncer(testing::PgAdminUrl(), "transaction", 2, "ignore_startup_parameters = options");
  auto sequence = [&](const std::string& query) -> Result<void> {
    auto one = MustOpen(bouncer.UrlFor(pg.url(), query));
    // Unnamed statements, so that it can share the session with one's named statement.
    auto two = MustOpen(bouncer.UrlFor(pg.url(), "pool_mode=transaction"));
    const db::Value v1[] = {std::int64_t{1}};
    SL_RETURN_IF_ERROR(one->Write([&](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Query("SELECT 1 + ?", v1));
      return {};
    }));
    Result<void> inner;
    SL_RETURN_IF_ERROR(two->Write([&](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Query("SELECT 2"));
      const db::Value v2[] = {std::int64_t{2}};
      inner = one->Write([&](db::Connection& c1) -> Result<void> {
        SL_RETURN_IF_ERROR(c1.Query("SELECT 1 + ?", v2));
        return {};
      });
      return {};
    }));
    return inner;
  };
  auto lost = sequence("");
  ASSERT_FALSE(lost.has_value()) << "the pooler did not move the connection to another session";
  EXPECT_NE(lost.error().message.find("does not exist"), std::string::npos) << lost.error().message;
  EXPECT_NE(lost.error().message.find("add pool_mode=transaction"), std::string::npos)
      << lost.error().message;
  auto fine = sequence("pool_mode=transaction");
  EXPECT_TRUE(fine.has_value()) << fine.error().ToString();
}

// Two migrators race through the pooler: each migration is applied once, and no advisory
// lock is left behind on a pooled session (a session-level lock would stay with whichever
// server session took it).
TEST(PgBouncerTest, RacingMigratorsThroughThePoolerApplyEachMigrationOnce) {
  TestDatabase pg("postgres");
  PgBouncer bouncer(testing::PgAdminUrl(), "transaction", 2);
  const std::string url = bouncer.UrlFor(pg.url(), "pool_mode=transaction");
  auto a = MustOpen(url);
  auto b = MustOpen(url);
  EXPECT_FALSE(a->capabilities().notifications);
  auto listen = a->Listen("storyloom_events");
  ASSERT_FALSE(listen.has_value());
  EXPECT_EQ(listen.error().code, ErrorCode::kFailedPrecondition);
  Result<db::MigrateReport> ra, rb;
  std::thread ta([&] { ra = db::Migrate(*a); });
  std::thread tb([&] { rb = db::Migrate(*b); });
  ta.join();
  tb.join();
  ASSERT_TRUE(ra.has_value()) << ra.error().ToString();
  ASSERT_TRUE(rb.has_value()) << rb.error().ToString();
  const auto all = db::MigrationsFor(db::Dialect::kPostgres).size();
  EXPECT_EQ(ra->applied.size() + rb->applied.size(), all);
  EXPECT_EQ(QueryInt(pg.url(), "SELECT count(*) FROM schema_migrations"),
            static_cast<std::int64_t>(all));
  EXPECT_EQ(QueryInt(pg.url(), "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0);
}

// Two servers behind one transaction pooler of three server connections: every workflow
// runs once to completion, SSE streams another instance's workflow (by polling: no LISTEN
// through the pooler), and the server never sees more than the pool's connections.
TEST(PgBouncerTest, TwoServersBehindATransactionPoolerRunEachWorkflowOnce) {
  TestDatabase pg("postgres");
  constexpr int kPool = 3;
  PgBouncer bouncer(testing::PgAdminUrl(), "transaction", kPool);
  ServerOptions o;
  o.database_url = bouncer.UrlFor(pg.url(), "pool_mode=transaction");
  o.workers = 2;
  o.env["STORYLOOM_SSE_POLL_MS"] = "200";
  o.env["STORYLOOM_QUEUE_POLL_MS"] = "200";
  ServerProcess one(o);
  ServerProcess two(one, o);
  auto c = one.Client("alice");
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto r = c->Post("/api/v1/workflows", {{"prompt", "pooled story " + std::to_string(i)},
                                           {"options", {{"scenes", 1}, {"narration", false}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.Json()["id"]);
  }
  // The first workflow's events, streamed by the other instance.
  TempDir tmp;
  const std::string out = (tmp / "events.txt").string();
  const std::string cmd = "curl -sN --max-time 120 -H 'Authorization: Bearer " +
                          two.token("alice") + "' " + two.url() + "/api/v1/workflows/" + ids[0] +
                          "/events > " + out + " 2>/dev/null & echo $!";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  long curl_pid = 0;
  ASSERT_EQ(std::fscanf(p, "%ld", &curl_pid), 1);
  ::pclose(p);

  for (const auto& id : ids) {
    json w = WaitForWorkflow(*c, id, 180000);
    ASSERT_EQ(w["status"], "completed") << w.dump(2) << one.log() << two.log();
  }
  std::string body;
  for (int i = 0; i < 100 && body.find("\"completed\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    body = testing::ReadFileOrEmpty(out);
  }
  ::kill(static_cast<pid_t>(curl_pid), SIGTERM);
  EXPECT_NE(body.find("\"completed\""), std::string::npos) << body;

  auto store = one.OpenStore();
  for (const auto& id : ids) EXPECT_EQ(RunningEvents(*store, id), 1) << id << " ran twice";
  EXPECT_LE(QueryInt(pg.url(),
                     "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND pid <> pg_backend_pid()"),
            kPool);
  for (const std::string& log : {one.log(), two.log()}) {
    EXPECT_EQ(log.find("does not exist"), std::string::npos) << log;
  }
}

// ---------------------------------------------------------------------------------------
// Roles without superuser, on the shared test server (which trusts local logins).

class PgRole {
 public:
  PgRole() {
    static std::mt19937_64 rng(std::random_device{}());
    name_ = fmt::format("r_{:012x}", rng() & 0xffffffffffffULL);
    testing::PgAdminExec("CREATE ROLE " + name_ + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE");
  }
  ~PgRole() {
    try {
      testing::PgAdminExec("DROP ROLE IF EXISTS " + name_);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
  const std::string& name() const { return name_; }
  // `url` (a URL of the test server) logged in as this role.
  std::string Url(const std::string& url) const {
    const auto user = url.find("://") + 3;
    return url.substr(0, user) + name_ + url.substr(url.find('@', user));
  }

 private:
  std::string name_;
};

TEST(PostgresRoleTest, ADatabaseOwnerWithoutSuperuserMigrates) {
  PgRole role;
  TestDatabase pg("postgres");
  testing::PgAdminExec(fmt::format("ALTER DATABASE {} OWNER TO {}",
                                   pg.url().substr(pg.url().rfind('/') + 1), role.name()));
  const std::string url = role.Url(pg.url());
  auto d = MustOpen(url);
  EXPECT_EQ(QueryInt(url, "SELECT rolsuper::int FROM pg_roles WHERE rolname = current_user"), 0);
  // pg_trgm is a trusted extension: the database's owner may create it.
  auto migrated = db::Migrate(*d);
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  EXPECT_TRUE(migrated->status.pending.empty());
  EXPECT_EQ(QueryInt(url, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"), 1);
}

TEST(PostgresRoleTest, ARoleThatMayNotCreateTheExtensionIsToldWhatAnAdministratorMustRun) {
  PgRole role;
  TestDatabase pg("postgres");  // owned by the superuser
  auto admin = MustOpen(pg.url());
  const std::string url = role.Url(pg.url());
  auto d = MustOpen(url);

  // PostgreSQL 15 gives no one CREATE on schema public.
  auto no_schema = db::Migrate(*d);
  ASSERT_FALSE(no_schema.has_value());
  EXPECT_EQ(no_schema.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(no_schema.error().message.find("GRANT USAGE, CREATE ON SCHEMA \"public\" TO \"" +
                                           role.name() + "\";"),
            std::string::npos)
      << no_schema.error().message;

  // Least privilege: the schema, not the database.
  Script(*admin, "GRANT USAGE, CREATE ON SCHEMA public TO " + role.name());
  auto no_extension = db::Migrate(*d);
  ASSERT_FALSE(no_extension.has_value());
  EXPECT_EQ(no_extension.error().code, ErrorCode::kFailedPrecondition);
  const std::string& message = no_extension.error().message;
  EXPECT_NE(message.find("extension pg_trgm"), std::string::npos) << message;
  EXPECT_NE(message.find(role.name()), std::string::npos) << message;
  EXPECT_NE(message.find("CREATE EXTENSION IF NOT EXISTS pg_trgm;"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(QueryInt(pg.url(),
                     "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                     "'public'"),
            0)
      << "nothing is created before the check";

  // Start-up says the same in one line and exits non-zero.
  TempDir data;
  auto serve = RunCli(fmt::format("--data-dir '{}' --database '{}' db migrate", data.str(), url));
  EXPECT_NE(serve.exit_code, 0) << serve.out;
  EXPECT_NE(serve.LastLine().find("CREATE EXTENSION IF NOT EXISTS pg_trgm;"), std::string::npos)
      << serve.out;

  // Once an administrator has created it, the role migrates and a server runs on it.
  Script(*admin, "CREATE EXTENSION IF NOT EXISTS pg_trgm");
  auto migrated = db::Migrate(*d);
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  d.reset();
  ServerOptions o;
  o.database_url = url;
  o.workers = 1;
  ServerProcess server(o);
  RunOneWorkflow(server, "A story written with the least privilege");
}

}  // namespace
}  // namespace storyloom
