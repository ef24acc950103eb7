// Start-up of the signed tree heads: where the Ed25519 key and the
// tree-head log live, and loading (or, for the zero-config default,
// generating) the key. File I/O only; no gRPC.
//
// Both files must be outside the data directory: a copy of the store (a
// backup, a checkpoint handed to an auditor) must not carry the private
// key, and the log is the witness that does not live with what it
// witnesses. Defaults are siblings of the data directory:
//   <data_dir>.tree-head-key.pem      private key (PKCS#8 PEM, mode 0600)
//   <data_dir>.tree-head-key.pem.pub  its public key (SubjectPublicKeyInfo)
//   <data_dir>.tree-heads.log         one line per signed head
// A missing key at the default path is generated (so the first command
// works with no flags); a missing key at a path given with --tree_head_key
// is an error (an operator who names a key means that key).
#ifndef TRADECHECK_SERVER_TREE_HEAD_KEY_H_
#define TRADECHECK_SERVER_TREE_HEAD_KEY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/tree_head.h"

namespace tradecheck::server {

struct TreeHeadSetup {
  std::shared_ptr<const TreeHeadSigner> signer;
  std::string key_path;
  std::string public_key_path;
  std::string log_path;
  bool generated = false;  // the key was made now
};

// FAILED_PRECONDITION naming the flag when a file is inside `data_dir`,
// NOT_FOUND for a named key that does not exist, INVALID_ARGUMENT for a
// key that is not Ed25519 PEM.
absl::StatusOr<TreeHeadSetup> SetUpTreeHeads(const std::string& data_dir,
                                             const std::string& key_flag,
                                             const std::string& log_flag);

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_TREE_HEAD_KEY_H_
