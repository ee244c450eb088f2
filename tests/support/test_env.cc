// Settings every server and runtime of the test binary starts with, before main: the
// environment is inherited by `storyloom serve` children and read by in-process configs.
#include <cstdlib>

namespace {

// A workflow makes story.mp4 unless its options say otherwise, and encoding a video takes
// seconds under the sanitizers: hundreds of test workflows would spend minutes on videos
// no test looks at. The tests of the video ask for it (options.video = true); the
// default itself is checked by WorkflowOptions tests and by the browser tests.
const bool kVideoOff = [] {
  ::setenv("STORYLOOM_VIDEO_DEFAULT", "false", /*overwrite=*/0);
  return true;
}();

}  // namespace
