// tradecheck_tamper: flips one byte of a stored audit record, for end-to-end
// tamper tests. Stop the server first (the store must be closed).
//
//   tradecheck_tamper --db=DIR --stream=binding --sequence=N [--offset=K]
#include <cstdint>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "storage/keys.h"
#include "storage/testing/tamper.h"

ABSL_FLAG(std::string, db, "", "Directory of the audit store (closed).");
ABSL_FLAG(std::string, stream, "binding", "binding or validate_only.");
ABSL_FLAG(uint64_t, sequence, 0, "Sequence of the record to alter (>= 1).");
ABSL_FLAG(uint64_t, offset, 10, "Byte of the stored record value to flip.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string db = absl::GetFlag(FLAGS_db);
  const std::string stream_name = absl::GetFlag(FLAGS_stream);
  const uint64_t sequence = absl::GetFlag(FLAGS_sequence);
  tradecheck::v1::TrailStream stream;
  if (stream_name == "binding") {
    stream = tradecheck::v1::TRAIL_STREAM_BINDING;
  } else if (stream_name == "validate_only") {
    stream = tradecheck::v1::TRAIL_STREAM_VALIDATE_ONLY;
  } else {
    std::cerr << "--stream must be binding or validate_only\n";
    return 2;
  }
  if (db.empty() || sequence == 0) {
    std::cerr << "usage: tradecheck_tamper --db=DIR --stream=binding "
                 "--sequence=N [--offset=K]\n";
    return 2;
  }
  absl::Status s = tradecheck::storage::testing::FlipByteInRecord(
      db, stream, sequence, absl::GetFlag(FLAGS_offset));
  if (!s.ok()) {
    std::cerr << "tradecheck_tamper: " << s << "\n";
    return 1;
  }
  std::cout << "flipped byte " << absl::GetFlag(FLAGS_offset) << " of record "
            << tradecheck::storage::keys::DecisionId(stream, sequence) << "\n";
  return 0;
}
