// Deterministic protobuf serialization: the same message content gives the
// same bytes within one protobuf build (map entries sorted). Used where bytes
// are compared or hashed: audit record hashes, declaration digests, and
// re-evaluation's "same verdict" test.
#ifndef TRADECHECK_COMMON_PROTO_BYTES_H_
#define TRADECHECK_COMMON_PROTO_BYTES_H_

#include <string>

#include "google/protobuf/message_lite.h"

namespace tradecheck {

std::string SerializeDeterministic(const google::protobuf::MessageLite& message);

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_PROTO_BYTES_H_
