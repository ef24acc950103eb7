#include "common/proto_bytes.h"

#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace tradecheck {

std::string SerializeDeterministic(
    const google::protobuf::MessageLite& message) {
  // Sized once and written into a string of exactly that size: a string
  // stream grows by doubling, so a 40 KB verdict was reallocated, copied
  // and zero-filled a dozen times on its way up.
  const size_t size = message.ByteSizeLong();
  std::string out(size, '\0');
  {
    google::protobuf::io::ArrayOutputStream stream(out.data(),
                                                   static_cast<int>(size));
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeWithCachedSizes(&coded);
  }
  return out;
}

}  // namespace tradecheck
