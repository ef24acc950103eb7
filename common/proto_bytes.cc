#include "common/proto_bytes.h"

#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace tradecheck {

std::string SerializeDeterministic(
    const google::protobuf::MessageLite& message) {
  message.ByteSizeLong();  // SerializeWithCachedSizes needs the sizes.
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeWithCachedSizes(&coded);
  }
  return out;
}

}  // namespace tradecheck
