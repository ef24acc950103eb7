#include "client/terminal_text.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "google/protobuf/descriptor.h"

namespace tradecheck {
namespace {

using google::protobuf::FieldDescriptor;

// Length of the valid UTF-8 sequence at text[i] that is not a C1 control,
// or 0.
size_t PrintableSequence(absl::string_view text, size_t i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  size_t n;
  uint32_t code;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    code = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    code = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    code = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const unsigned char next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xc0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMin[n] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ||
      (code >= 0x80 && code <= 0x9f)) {
    return 0;
  }
  return n;
}

}  // namespace

std::string TerminalSafe(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (size_t n = c >= 0x80 ? PrintableSequence(text, i) : 0; n > 0) {
      out.append(text.data() + i, n);
      i += n;
    } else {
      out.append(absl::StrFormat("\\x%02x", c));
      ++i;
    }
  }
  return out;
}

void MakeTerminalSafe(google::protobuf::Message* message) {
  const google::protobuf::Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      if (field->type() == FieldDescriptor::TYPE_BYTES) continue;
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          reflection->SetRepeatedString(
              message, field, i,
              TerminalSafe(reflection->GetRepeatedString(*message, field, i)));
        }
      } else {
        reflection->SetString(message, field,
                              TerminalSafe(reflection->GetString(*message, field)));
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          MakeTerminalSafe(reflection->MutableRepeatedMessage(message, field, i));
        }
      } else {
        MakeTerminalSafe(reflection->MutableMessage(message, field));
      }
    }
  }
}

}  // namespace tradecheck
