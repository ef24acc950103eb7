#include "server/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
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


TEST(CheckListenAddressTest, MalformedAddressesNameTheFlag) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:port", "127.0.0.1:70000",
                          "127.0.0.1:-1", "[::1:50051", "no.such.host.invalid:1"}) {
    absl::Status status = CheckListenAddress(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("--listen="))
        << bad;
  }
  EXPECT_TRUE(CheckListenAddress("127.0.0.1:0").ok());
  EXPECT_TRUE(CheckListenAddress("ipv4:127.0.0.1:0").ok());
}

TEST(CheckListenAddressTest, APortSomeoneListensOnIsRefused) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t size = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size), 0);
  const std::string taken =
      absl::StrCat("127.0.0.1:", ntohs(address.sin_port));
  EXPECT_EQ(CheckListenAddress(taken).code(), absl::StatusCode::kUnavailable);
  close(fd);
  EXPECT_TRUE(CheckListenAddress(taken).ok());
}

}  // namespace
}  // namespace tradecheck::server
