// The check every crash test uses for a completed workflow (support/checks.h,
// ExpectEachSceneHasItsFilesOnce) against a real server: uploads to the workflow are not
// the pipeline's files, even when their content makes them images or audio. Found by a
// fresh-clone `make test`: in PowercutServerTest one of ~260 random uploads began FF E3,
// sniffed as MPEG audio, and the workflow it went to counted four audio files for three
// scenes.
#include <gtest/gtest.h>

#include <string>

#include "support/checks.h"
#include "support/server_process.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::ServerProcess;

TEST(SceneFilesCheckTest, UploadsThatSniffAsMediaAreNotCountedAsSceneFiles) {
  ServerProcess server;
  auto c = server.Client("alice");
  auto created =
      c->Post("/api/v1/workflows", {{"prompt", "a lighthouse"}, {"options", {{"scenes", 2}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json().value("id", "");
  const json done = testing::WaitForWorkflow(*c, id, 120000);
  ASSERT_EQ(done["status"], "completed") << done.dump(2) << server.log();
  // Random-looking bytes whose first two make an MPEG audio frame header, and a PNG header:
  // sent as application/octet-stream, typed by their content.
  const std::string mp3_like = std::string("\xFF\xE3\x18\xC4", 4) + std::string(200, 'x');
  const std::string png_like = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(200, 'y');
  for (const auto& [name, body] :
       {std::pair{"up1.bin", mp3_like}, std::pair{"up2.bin", png_like}}) {
    auto r = c->Request("PUT", "/api/v1/workflows/" + id + "/files/" + name, body,
                        {"Content-Type: application/octet-stream"}, 60000);
    ASSERT_EQ(r.status, 201) << r.body;
  }
  const json w = c->Get("/api/v1/workflows/" + id).Json();
  int audio = 0, images = 0;
  for (const auto& f : w["files"]) {
    audio += f["type"] == "audio";
    images += f["type"] == "image";
  }
  // The uploads are typed as media (what made the old check count them)...
  ASSERT_EQ(audio, 3) << w.dump(2);
  ASSERT_EQ(images, 3) << w.dump(2);
  // ...and the check still sees exactly one image and one audio file per scene.
  testing::ExpectEachSceneHasItsFilesOnce(w, 2);
}

}  // namespace
}  // namespace storyloom
