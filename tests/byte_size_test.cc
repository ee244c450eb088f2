// core::ParseByteSize and FormatByteSize: the sizes quotas are written in (config
// storage.default_quota, `storyloom users quota`, PATCH /api/v1/users/{id}/storage).
#include "core/byte_size.h"

#include <gtest/gtest.h>

namespace storyloom::core {
namespace {

TEST(ByteSizeTest, ParsesBytesAndBinaryUnits) {
  EXPECT_EQ(*ParseByteSize("0", "q"), 0);
  EXPECT_EQ(*ParseByteSize("123456", "q"), 123456);
  EXPECT_EQ(*ParseByteSize("1K", "q"), 1024);
  EXPECT_EQ(*ParseByteSize("500M", "q"), 500ll << 20);
  EXPECT_EQ(*ParseByteSize("500MB", "q"), 500ll << 20);
  EXPECT_EQ(*ParseByteSize("500MiB", "q"), 500ll << 20);
  EXPECT_EQ(*ParseByteSize("2g", "q"), 2ll << 30);
  EXPECT_EQ(*ParseByteSize(" 1.5 G ", "q"), 3ll << 29);
  EXPECT_EQ(*ParseByteSize("1T", "q"), 1ll << 40);
  EXPECT_EQ(*ParseByteSize("1P", "q"), 1ll << 50);
  EXPECT_EQ(*ParseByteSize("12B", "q"), 12);
}

TEST(ByteSizeTest, RefusesAnythingElseNamingTheField) {
  for (const char* bad : {"", " ", "-1", "1.5", "M", "12Q", "1KK", "1 K B", "0x10", "1e9",
                          "2P", "1125899906842625", "99999999999999999999999", "1.5.5G"}) {
    auto r = ParseByteSize(bad, "storage.default_quota");
    ASSERT_FALSE(r.has_value()) << "'" << bad << "' parsed as " << *r;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().detail, "storage.default_quota");
  }
}

TEST(ByteSizeTest, FormatsWithTheLargestWholeUnit) {
  EXPECT_EQ(FormatByteSize(0), "0 B");
  EXPECT_EQ(FormatByteSize(1023), "1023 B");
  EXPECT_EQ(FormatByteSize(1024), "1 KiB");
  EXPECT_EQ(FormatByteSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatByteSize(500ll << 20), "500 MiB");
  EXPECT_EQ(FormatByteSize(2ll << 30), "2 GiB");
}

}  // namespace
}  // namespace storyloom::core
