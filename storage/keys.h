// Keys and small values of the audit store's RocksDB column families: the one
// place that builds or parses them (docs/storage.md has the schema). Every
// integer is fixed-width big-endian so the default bytewise comparator orders
// keys numerically.
//
//   std::string key = keys::RecordKey(v1::TRAIL_STREAM_BINDING, 42);
//   absl::StatusOr<keys::StreamSeq> back = keys::ParseRecordKey(key);
#ifndef TRADECHECK_STORAGE_KEYS_H_
#define TRADECHECK_STORAGE_KEYS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck::storage::keys {

// Column family names.
inline constexpr char kMetaCf[] = "meta";
inline constexpr char kRecordsCf[] = "records";
inline constexpr char kChainCf[] = "chain";
inline constexpr char kDeclarationsCf[] = "declarations";
inline constexpr char kPostingsCf[] = "postings";
inline constexpr char kTimeCf[] = "time";
inline constexpr char kQuotaCf[] = "quota";
inline constexpr char kRuleSetsCf[] = "rulesets";
// Merkle tree nodes above the leaves, and signed tree heads (schema v3).
inline constexpr char kTreeCf[] = "tree";
inline constexpr char kHeadsCf[] = "heads";
// Summary rows (schema 6): the same keys as records and chain, each the
// deterministic bytes of SummaryRow(record) (storage/decision_index.h).
inline constexpr char kSummariesCf[] = "summaries";

// Keys of the meta column family.
inline constexpr char kMetaMagic[] = "magic";
inline constexpr char kMetaSchemaVersion[] = "schema_version";
inline constexpr char kMetaPageTokenKey[] = "page_token_key";
// 16 random bytes made when the store is created (or upgraded to schema 4);
// copies and restores keep it.
inline constexpr char kMetaStoreIdentity[] = "store_identity";
// Decimal; 1 for a new store, advanced by each accepted loss.
inline constexpr char kMetaEpoch[] = "epoch";
// One per accepted loss: kMetaAcceptedLossPrefix + the new epoch (8 bytes
// big-endian) -> the acceptance, as text.
inline constexpr char kMetaAcceptedLossPrefix[] = "accepted_loss/";
inline constexpr char kMagicValue[] = "tradecheck-audit-store";
// Retroactive-impact records (v1.RetroactiveImpact, deterministic bytes):
// kMetaRetroactiveImpactPrefix + number (8 bytes big-endian, from 1). In
// meta, not a family of their own: stores of schema 5 get them without an
// upgrade step, read-only opens of older copies still work, and an older
// schema-5 build opens a store holding them (docs/storage.md).
inline constexpr char kMetaRetroactiveImpactPrefix[] = "retroactive_impact/";
// The rule-set revision whose activation was last accounted for (its
// retroactive impact recorded, or nothing past to compare): a server
// starting on other agreement files compares the past under both. In meta,
// no schema step: a store without it is treated as having none.
inline constexpr char kMetaActiveRevision[] = "active_revision";

// One byte per stream in keys. UNSPECIFIED is never stored.
uint8_t StreamByte(v1::TrailStream stream);

struct StreamSeq {
  v1::TrailStream stream = v1::TRAIL_STREAM_UNSPECIFIED;
  uint64_t sequence = 0;
  // Decision ids only: the store epoch the id was given out in (1 when the
  // id has no epoch suffix).
  uint64_t epoch = 1;
};

// records / chain: <stream:1><sequence:8> (plain order: ascending walk).
std::string RecordKey(v1::TrailStream stream, uint64_t sequence);
absl::StatusOr<StreamSeq> ParseRecordKey(absl::string_view key);

// Decision ids: "b-" / "v-" + sequence zero-padded to 12 digits, and from
// epoch 2 on (after an accepted loss reuses sequences) "-e" + the epoch:
// "b-000000000042-e2". The two-argument form names a position (messages).
std::string DecisionId(v1::TrailStream stream, uint64_t sequence);
std::string DecisionId(v1::TrailStream stream, uint64_t sequence,
                       uint64_t epoch);
absl::StatusOr<StreamSeq> ParseDecisionId(absl::string_view decision_id);

// Fields with equality postings (storage/decision_index.h says which
// record values each gets).
enum class Field : uint8_t {
  kExporter = 'e',
  kImporter = 'i',
  kOriginCountry = 'o',
  kHsPrefix = 'h',
  kOutcome = 'u',
  kRuleId = 'r',
  kRuleSetRevision = 'v',
  // Schema 5. A store of schema 1 to 4 gets these postings backfilled for
  // every record it holds when this build opens it, so a filter on them
  // means the same for old and new records; a record written before the
  // value existed has none and never matches a filter on it:
  //   kDeclarationId  declaration.declaration_id (every record has one).
  //   kGoverningDay   Decision.governing_date as GoverningDayValue; a
  //                   record without one (none so far) matches no range.
  //   kCaller         Decision.caller; records made before authentication
  //                   existed have none.
  //   kCallerRole     Decision.caller_role as CallerRoleValue; records made
  //                   before roles existed have none.
  //   kDestination    declaration.destination_country.
  kDeclarationId = 'd',
  kGoverningDay = 'g',
  kCaller = 'c',
  kCallerRole = 'l',
  kDestination = 't',
};

// postings: <field:1><stream:1><len(value):4><value><~sequence:8>. The
// inverted sequence makes a forward scan of one prefix newest-first.
//
// One key is a block: every sequence of one group commit that has the
// posting, keyed by the block's smallest sequence (blocks of one prefix
// never overlap, because a group commit's sequences are contiguous). The
// value lists the block's sequences newest first (EncodePostingBlock); an
// empty value is a block of just the key's sequence (schema version 1).
std::string PostingPrefix(Field field, v1::TrailStream stream,
                          absl::string_view value);
std::string PostingKey(absl::string_view prefix, uint64_t sequence);
// Bytes a posting key adds after its prefix (the inverted sequence).
inline constexpr size_t kPostingSequenceSize = 8;
// The sequence of a posting key that starts with `prefix`.
absl::StatusOr<uint64_t> ParsePostingSequence(absl::string_view prefix,
                                              absl::string_view key);
// The value of a posting block. REQUIRES: `sequences` is strictly
// ascending and not empty; the key is PostingKey(prefix, sequences.front()).
// Encoded as the varint of (sequence - smallest), newest first.
std::string EncodePostingBlock(const std::vector<uint64_t>& sequences);
// The sequences of the block keyed by `smallest`, newest first. Errors
// (DATA_LOSS) when the value is malformed or does not end at `smallest`.
absl::StatusOr<std::vector<uint64_t>> DecodePostingBlock(
    uint64_t smallest, absl::string_view value);

// Value a posting for an outcome is keyed by.
std::string OutcomeValue(v1::Outcome outcome);
// Value a posting for a caller role is keyed by (4 bytes, like outcomes).
std::string CallerRoleValue(v1::CallerRole role);
// Value a governing-day posting is keyed by: "YYYYMMDD", one posting list
// per calendar day, so a month is 31 lists and never a scan of the trail.
std::string GoverningDayValue(const v1::Date& date);

// time: <stream:1><recorded_at unix nanos, sign bit flipped:8><sequence:8>.
// recorded_at never decreases along a stream, so time order is sequence order.
// One key per group commit and stream: its records share one recorded_at,
// and the key carries the first of their sequences.
std::string TimeKey(v1::TrailStream stream, absl::Time recorded_at,
                    uint64_t sequence);
struct TimeSeq {
  absl::Time recorded_at;
  uint64_t sequence = 0;
};
absl::StatusOr<TimeSeq> ParseTimeKey(v1::TrailStream stream,
                                     absl::string_view key);

// declarations: key = declaration_id; value = <binding sequence:8><sha256
// of the declaration's deterministic serialization:32>.
struct DeclarationEntry {
  uint64_t sequence = 0;
  std::string digest;  // 32 raw bytes
};
std::string EncodeDeclarationEntry(const DeclarationEntry& entry);
absl::StatusOr<DeclarationEntry> DecodeDeclarationEntry(
    absl::string_view value);

// quota: key = quota_key; value = <consumed milli, two's complement:8>.
std::string EncodeQuotaConsumed(int64_t consumed_milli);
absl::StatusOr<int64_t> DecodeQuotaConsumed(absl::string_view value);

// rulesets: <len(revision):4><revision><file name> -> file contents; the
// entry with an empty file name marks the revision as stored.
std::string RuleSetPrefix(absl::string_view revision);
std::string RuleSetFileKey(absl::string_view revision,
                           absl::string_view file_name);

// tree: <stream:1><level:1><index:8> -> 32-byte hash of the perfect subtree
// over leaves [index * 2^level, (index + 1) * 2^level), level >= 1 (level 0,
// the leaf hashes, is the chain family: leaf i is record i + 1).
std::string TreeNodeKey(v1::TrailStream stream, int level, uint64_t index);

// heads: <stream:1><tree_size:8> -> the signed head as one tree-head log
// line (common/tree_head.h FormatTreeHeadLine).
std::string TreeHeadKey(v1::TrailStream stream, uint64_t tree_size);

// The meta key of retroactive-impact record `number` (>= 1), its id
// ("ri-" + number zero-padded to 12 digits), and back. ParseRetroactiveImpactId
// accepts only the canonical spelling (INVALID_ARGUMENT otherwise).
std::string RetroactiveImpactKey(uint64_t number);
std::string RetroactiveImpactId(uint64_t number);
absl::StatusOr<uint64_t> ParseRetroactiveImpactId(absl::string_view id);

// Fixed-width big-endian integers (shared by the codecs above).
void AppendBigEndian64(uint64_t v, std::string* out);
uint64_t ReadBigEndian64(absl::string_view bytes);  // REQUIRES: size >= 8

}  // namespace tradecheck::storage::keys

#endif  // TRADECHECK_STORAGE_KEYS_H_
