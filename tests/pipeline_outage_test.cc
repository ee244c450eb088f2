// A database outage in the middle of a workflow pauses it (the run returns the error and the
// workflow resumes when its lease expires); a provider failure fails it. The two differ only
// in the error's reason (issue 15 part 4), not in its code or message. Runs on each backend.
#include <gtest/gtest.h>

#include "engine/event_bus.h"
#include "engine/pipeline.h"
#include "engine/usage_recorder.h"
#include "files/file_store.h"
#include "providers/provider.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using testing::MakeUser;
using testing::TempDir;
using testing::TestDatabase;

// A provider whose story step fails with `error` (as when recording its usage fails).
class FailingStoryProvider : public providers::Provider {
 public:
  explicit FailingStoryProvider(Error error) : error_(std::move(error)) {}
  std::string name() const override { return "failing"; }
  Result<providers::Story> WriteStory(const providers::StoryRequest&,
                                      providers::CallContext&) override {
    return Fail(error_);
  }
  Result<std::vector<providers::SceneSpec>> BreakdownScenes(const providers::StoryRequest&,
                                                            const providers::Story&,
                                                            providers::CallContext&) override {
    return Fail(Error::Internal("not reached"));
  }
  Result<providers::Media> RenderImage(const providers::StoryRequest&, const providers::SceneSpec&,
                                       providers::CallContext&) override {
    return Fail(Error::Internal("not reached"));
  }
  Result<providers::Media> Narrate(const providers::StoryRequest&, const providers::SceneSpec&,
                                   providers::CallContext&) override {
    return Fail(Error::Internal("not reached"));
  }

 private:
  Error error_;
};

class PipelineOutageTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<TestDatabase>(GetParam());
    store_ = tdb_->OpenMigrated();
    files_ = std::make_unique<files::FileStore>((dir_ / "outputs").string());
    usage_ = std::make_unique<engine::UsageRecorder>(*store_);
  }

  // Creates and claims a workflow, then runs it with a provider failing with `error`.
  Result<engine::RunOutcome> RunWith(Error error, std::string& id) {
    auto created =
        store_->CreateWorkflow({MakeUser(*store_, "alice"), "a lighthouse", "", "{}", ""});
    EXPECT_TRUE(created.has_value());
    id = created->workflow.id;
    auto claimed = store_->WriteOne<std::vector<Workflow>>(
        [](StoreTx& tx) { return tx.workflows().Claim("test", 60000, 1); });
    EXPECT_TRUE(claimed.has_value() && claimed->size() == 1u);
    FailingStoryProvider provider(std::move(error));
    engine::Pipeline pipeline({*store_, *files_, bus_, *usage_, provider, std::nullopt}, claimed->at(0), nullptr,
                              nullptr);
    return pipeline.Run();
  }

  TempDir dir_;
  std::unique_ptr<TestDatabase> tdb_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<files::FileStore> files_;
  engine::EventBus bus_;
  std::unique_ptr<engine::UsageRecorder> usage_;
};

TEST_P(PipelineOutageTest, ADatabaseOutagePausesTheWorkflow) {
  std::string id;
  // The message of a lost PostgreSQL connection does not say "database".
  auto outcome = RunWith(
      Error::DatabaseUnavailable("cannot reconnect to PostgreSQL: server closed the connection"),
      id);
  ASSERT_FALSE(outcome.has_value()) << "the workflow ended instead of pausing";
  EXPECT_TRUE(outcome.error().IsDatabaseUnavailable());
  auto w = store_->GetWorkflow(id);
  ASSERT_TRUE(w.has_value());
  EXPECT_NE(w->status, WorkflowStatus::kFailed);
  EXPECT_TRUE(w->error_code.empty()) << w->error_code;
}

TEST_P(PipelineOutageTest, AProviderOutageFailsTheWorkflow) {
  std::string id;
  auto outcome = RunWith(
      Error{ErrorCode::kUnavailable, "cannot reach api.example: refused", "network_error"}, id);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(*outcome, engine::RunOutcome::kFailed);
  auto w = store_->GetWorkflow(id);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->status, WorkflowStatus::kFailed);
  EXPECT_EQ(w->error_code, "network_error");
}

INSTANTIATE_TEST_SUITE_P(Backends, PipelineOutageTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
