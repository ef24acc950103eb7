#include "server/listen_address.h"

#include "gtest/gtest.h"

namespace tradecheck::server {
namespace {

TEST(ListenAddressTest, LoopbackOnly) {
  for (const char* ok : {"127.0.0.1:50051", "127.1.2.3:0", "localhost:50051",
                         "[::1]:50051", "ipv4:127.0.0.1:1", "ipv6:[::1]:1"}) {
    EXPECT_TRUE(IsLoopbackListenAddress(ok)) << ok;
  }
  for (const char* no : {"0.0.0.0:50051", "[::]:50051", "10.0.0.1:50051",
                         "192.168.1.2:1", "example.com:50051", ":50051",
                         "128.0.0.1:1", "[::ffff:10.0.0.1]:1", "unix:/tmp/s",
                         "localhost.evil.com:1", "127.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackListenAddress(no)) << no;
  }
}

}  // namespace
}  // namespace tradecheck::server
