#include "core/unknown_fields.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"

namespace tradecheck {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : absl::StrCat(prefix, ".", name);
}

void Walk(const Message& message, const std::string& path, size_t max,
          std::vector<UnknownField>* out) {
  if (out->size() >= max) return;
  const Reflection* reflection = message.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown =
      reflection->GetUnknownFields(message);
  if (!unknown.empty()) {
    std::string numbers;
    for (int i = 0; i < unknown.field_count() && i < 8; ++i) {
      absl::StrAppend(&numbers, i == 0 ? "" : ", ", unknown.field(i).number());
    }
    if (unknown.field_count() > 8) absl::StrAppend(&numbers, ", ...");
    out->push_back({path, std::move(numbers)});
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      const int n = reflection->FieldSize(message, field);
      for (int i = 0; i < n && out->size() < max; ++i) {
        Walk(reflection->GetRepeatedMessage(message, field, i),
             absl::StrCat(Join(path, field->name()), "[", i, "]"), max, out);
      }
    } else {
      Walk(reflection->GetMessage(message, field), Join(path, field->name()),
           max, out);
    }
  }
}

}  // namespace

std::vector<UnknownField> FindUnknownFields(const Message& message,
                                            size_t max_results) {
  std::vector<UnknownField> out;
  Walk(message, "", max_results, &out);
  return out;
}

}  // namespace tradecheck
