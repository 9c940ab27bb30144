// Capability profiles: the JSON reader, the built-in lookup and the action
// variant names (see capability_profile.h for the model and why it is data).
//
// The reader is strict and path-naming: every object's keys are checked
// against the keys that object may hold, every limit must say where it comes
// from, and every error names the dotted path of the offending key, so that a
// user's own profile fails loudly at load time rather than offloading the
// wrong flows later. nlohmann::json is used without exceptions (parse with
// allow_exceptions=false, types checked before every get).
#include "offload/capability_profile.h"

#include <arpa/inet.h>
#include <linux/tc_act/tc_csum.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>

#include "offload/builtin_capability_profiles.h"

namespace flowlift {
namespace {

using Json = nlohmann::json;
using V = TcActionVariant;
using K = TcActionKind;

struct TcActionVariantInfo {
  TcActionVariant variant;
  TcActionKind kind;
  std::string_view name;
};

constexpr TcActionVariantInfo kTcActionVariants[] = {
    {V::kMirredRedirect, K::kMirred, "redirect"},
    {V::kMirredMirror, K::kMirred, "mirror"},
    {V::kVlanPush, K::kVlan, "push"},
    {V::kVlanPop, K::kVlan, "pop"},
    {V::kVlanModify, K::kVlan, "modify"},
    {V::kMplsPush, K::kMpls, "push"},
    {V::kMplsPop, K::kMpls, "pop"},
    {V::kMplsModify, K::kMpls, "modify"},
    {V::kPedit, K::kPedit, ""},
    {V::kCsum, K::kCsum, ""},
    {V::kTunnelKeySet, K::kTunnelKey, "set"},
    {V::kTunnelKeyUnset, K::kTunnelKey, "unset"},
    {V::kGactDrop, K::kGact, "drop"},
    {V::kGactGotoChain, K::kGact, "goto_chain"},
};
static_assert(std::size(kTcActionVariants) == static_cast<size_t>(V::kCount));

constexpr std::string_view kTcActionKindNames[] = {"mirred", "vlan",       "mpls", "pedit",
                                                   "csum",   "tunnel_key", "gact"};
static_assert(std::size(kTcActionKindNames) == static_cast<size_t>(K::kCount));

struct TcCsumFlagName {
  uint32_t flag;
  std::string_view name;
};
constexpr TcCsumFlagName kTcCsumFlagNames[] = {
    {TCA_CSUM_UPDATE_FLAG_IPV4HDR, "iph"}, {TCA_CSUM_UPDATE_FLAG_ICMP, "icmp"},
    {TCA_CSUM_UPDATE_FLAG_IGMP, "igmp"},   {TCA_CSUM_UPDATE_FLAG_TCP, "tcp"},
    {TCA_CSUM_UPDATE_FLAG_UDP, "udp"},     {TCA_CSUM_UPDATE_FLAG_UDPLITE, "udplite"},
    {TCA_CSUM_UPDATE_FLAG_SCTP, "sctp"},
};

// ---- JSON helpers: every error names the key path ----

Status profile_error(const std::string& path, const std::string& problem) {
  return invalid_argument(path + ": " + problem);
}

std::string child_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string join_words(std::initializer_list<std::string_view> words) {
  std::string out;
  for (std::string_view word : words) {
    if (!out.empty()) out += ", ";
    out += word;
  }
  return out;
}

Status check_keys(const Json& object, const std::string& path,
                  std::initializer_list<std::string_view> allowed) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
      return profile_error(child_path(path, it.key()),
                           "unknown key (allowed here: " + join_words(allowed) + ")");
  }
  return Status::ok();
}

Status expect_object(const Json& value, const std::string& path) {
  if (!value.is_object()) return profile_error(path, "must be an object");
  return Status::ok();
}

Result<std::string> required_string(const Json& object, const std::string& path, std::string_view key) {
  const std::string key_path = child_path(path, key);
  auto it = object.find(key);
  if (it == object.end()) return profile_error(key_path, "missing");
  if (!it->is_string()) return profile_error(key_path, "must be a string");
  std::string text = it->get<std::string>();
  if (text.empty()) return profile_error(key_path, "must not be empty");
  return text;
}

Result<std::string> optional_string(const Json& object, const std::string& path, std::string_view key) {
  if (!object.contains(key)) return std::string();
  return required_string(object, path, key);
}

Result<bool> optional_bool(const Json& object, const std::string& path, std::string_view key, bool fallback) {
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (!it->is_boolean()) return profile_error(child_path(path, key), "must be true or false");
  return it->get<bool>();
}

// "0x8100" -> 0x8100. At most `max_digits` hex digits.
Result<uint64_t> parse_hex(const Json& value, const std::string& path, size_t max_digits) {
  if (!value.is_string()) return profile_error(path, "must be a hex string such as \"0x8100\"");
  const std::string text = value.get<std::string>();
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X') || text.size() - 2 > max_digits)
    return profile_error(
        path, "\"" + text + "\" is not 0x followed by at most " + std::to_string(max_digits) + " hex digits");
  uint64_t parsed = 0;
  auto [end, error] = std::from_chars(text.data() + 2, text.data() + text.size(), parsed, 16);
  if (error != std::errc() || end != text.data() + text.size())
    return profile_error(path, "\"" + text + "\" is not a hex number");
  return parsed;
}

// A limit object: {"value": N or null, "source": "...", "assumption": "..."}
// plus the caller's extra keys.
Status parse_limit(const Json& value, const std::string& path, uint64_t max_value, bool allow_unbounded,
                   std::initializer_list<std::string_view> allowed_keys, CapabilityLimit* out) {
  if (Status s = expect_object(value, path); !s) return s;
  if (Status s = check_keys(value, path, allowed_keys); !s) return s;
  auto it = value.find("value");
  if (it == value.end())
    return profile_error(child_path(path, "value"), "missing (a number, or null for no bound)");
  if (it->is_null()) {
    if (!allow_unbounded) return profile_error(child_path(path, "value"), "must be a number here");
    out->value.reset();
  } else if (it->is_number_unsigned()) {
    const uint64_t number = it->get<uint64_t>();
    if (number > max_value)
      return profile_error(
          child_path(path, "value"),
          std::to_string(number) + " is above the largest possible " + std::to_string(max_value));
    out->value = number;
  } else {
    return profile_error(child_path(path, "value"), "must be a non-negative integer or null");
  }
  auto source = required_string(value, path, "source");
  if (!source) return source.status();
  out->source = std::move(*source);
  auto assumption = optional_string(value, path, "assumption");
  if (!assumption) return assumption.status();
  out->assumption = std::move(*assumption);
  return Status::ok();
}

// ---- match ----

Status parse_field(const Json& value, const std::string& path, TcFlowerField field,
                   CapabilityFieldSupport* out) {
  if (Status s = expect_object(value, path); !s) return s;
  if (Status s = check_keys(value, path, {"mask", "mask_within", "source", "assumption"}); !s) return s;
  const TcFlowerFieldInfo& info = tc_flower_field_info(field);
  auto mask = required_string(value, path, "mask");
  if (!mask) return mask.status();
  if (*mask == "exact") {
    out->mask = TcMaskCapability::kExact;
  } else if (*mask == "prefix") {
    out->mask = TcMaskCapability::kPrefix;
  } else if (*mask == "any") {
    out->mask = TcMaskCapability::kAny;
  } else {
    return profile_error(child_path(path, "mask"), "\"" + *mask + "\" is not one of exact, prefix, any");
  }
  // Flower itself carries no mask for these (TcFlowerFieldInfo::mask_attribute
  // is 0): a profile cannot promise more than the kernel can express.
  if (info.mask_attribute == 0 && out->mask != TcMaskCapability::kExact)
    return profile_error(child_path(path, "mask"), "flower matches " + std::string(info.name) +
                                                       " exactly only (it has no mask attribute)");
  out->mask_within = {};
  for (uint8_t i = 0; i < info.width; ++i) out->mask_within[i] = 0xff;
  if (auto it = value.find("mask_within"); it != value.end()) {
    const std::string within_path = child_path(path, "mask_within");
    if (info.width > 8) return profile_error(within_path, "only fields of up to 8 bytes take mask_within");
    auto bits = parse_hex(*it, within_path, size_t{2} * info.width);
    if (!bits) return bits.status();
    for (uint8_t i = 0; i < info.width; ++i)
      out->mask_within[i] = static_cast<uint8_t>(*bits >> (8 * (info.width - 1 - i)));
  }
  auto source = required_string(value, path, "source");
  if (!source) return source.status();
  out->source = std::move(*source);
  auto assumption = optional_string(value, path, "assumption");
  if (!assumption) return assumption.status();
  out->assumption = std::move(*assumption);
  return Status::ok();
}

Result<TcFlowerField> field_named(const std::string& name, const std::string& path) {
  const TcFlowerField field = tc_flower_field_by_name(name);
  if (field == TcFlowerField::kCount)
    return profile_error(
        path, "\"" + name + "\" is not a flower field flowlift knows (offload/tc_flower_fields.cc)");
  return field;
}

Status parse_match(const Json& value, const std::string& path, CapabilityProfile* profile) {
  if (Status s = expect_object(value, path); !s) return s;
  if (Status s = check_keys(value, path, {"fields", "unsupported", "tunnel_requires"}); !s) return s;
  const std::string fields_path = child_path(path, "fields");
  auto fields = value.find("fields");
  if (fields == value.end()) return profile_error(fields_path, "missing");
  if (Status s = expect_object(*fields, fields_path); !s) return s;
  for (auto it = fields->begin(); it != fields->end(); ++it) {
    const std::string field_path = child_path(fields_path, it.key());
    auto field = field_named(it.key(), field_path);
    if (!field) return field.status();
    if (Status s = parse_field(it.value(), field_path, *field, &profile->fields[static_cast<size_t>(*field)]);
        !s)
      return s;
  }
  if (auto unsupported = value.find("unsupported"); unsupported != value.end()) {
    const std::string unsupported_path = child_path(path, "unsupported");
    if (Status s = expect_object(*unsupported, unsupported_path); !s) return s;
    for (auto it = unsupported->begin(); it != unsupported->end(); ++it) {
      const std::string field_path = child_path(unsupported_path, it.key());
      auto field = field_named(it.key(), field_path);
      if (!field) return field.status();
      CapabilityFieldSupport& support = profile->fields[static_cast<size_t>(*field)];
      if (support.mask != TcMaskCapability::kUnsupported)
        return profile_error(field_path, "also listed under " + fields_path);
      if (!it->is_string() || it->get<std::string>().empty())
        return profile_error(field_path, "must be a non-empty string saying why");
      support.source = it->get<std::string>();
    }
  }
  if (auto tunnel = value.find("tunnel_requires"); tunnel != value.end()) {
    const std::string tunnel_path = child_path(path, "tunnel_requires");
    if (Status s = expect_object(*tunnel, tunnel_path); !s) return s;
    if (Status s = check_keys(*tunnel, tunnel_path, {"fields", "source"}); !s) return s;
    const std::string list_path = child_path(tunnel_path, "fields");
    auto list = tunnel->find("fields");
    if (list == tunnel->end() || !list->is_array())
      return profile_error(list_path, "must be an array of field names");
    for (size_t i = 0; i < list->size(); ++i) {
      const Json& name = (*list)[i];
      if (!name.is_string()) return profile_error(index_path(list_path, i), "must be a field name");
      auto field = field_named(name.get<std::string>(), index_path(list_path, i));
      if (!field) return field.status();
      if (profile->field(*field).mask == TcMaskCapability::kUnsupported)
        return profile_error(index_path(list_path, i),
                             name.get<std::string>() + " is required but not supported");
      profile->tunnel_requires.push_back(*field);
    }
    auto source = required_string(*tunnel, tunnel_path, "source");
    if (!source) return source.status();
    profile->tunnel_requires_source = std::move(*source);
  }
  return Status::ok();
}

// ---- actions ----

std::vector<TcActionVariant> variants_of(TcActionKind kind) {
  std::vector<TcActionVariant> variants;
  for (const TcActionVariantInfo& info : kTcActionVariants)
    if (info.kind == kind) variants.push_back(info.variant);
  return variants;
}

Result<std::vector<Be16>> parse_ethertypes(const Json& value, const std::string& path) {
  if (!value.is_array() || value.empty())
    return profile_error(path, "must be a non-empty array such as [\"0x8100\"]");
  std::vector<Be16> ethertypes;
  for (size_t i = 0; i < value.size(); ++i) {
    auto ethertype = parse_hex(value[i], index_path(path, i), 4);
    if (!ethertype) return ethertype.status();
    ethertypes.push_back(htons(static_cast<uint16_t>(*ethertype)));
  }
  return ethertypes;
}

Status parse_variant(const Json& value, const std::string& path, TcActionVariant variant,
                     CapabilityActionVariantSupport* out) {
  if (Status s = expect_object(value, path); !s) return s;
  Status keys;
  switch (variant) {
    case V::kVlanPush:
      keys = check_keys(value, path, {"supported", "source", "max_per_rule", "tpids"});
      break;
    case V::kVlanModify:
      keys = check_keys(value, path, {"supported", "source", "max_per_rule", "tpids", "prio"});
      break;
    case V::kMplsPush:
      keys = check_keys(value, path, {"supported", "source", "max_per_rule", "ethertypes"});
      break;
    default:
      keys = check_keys(value, path, {"supported", "source", "max_per_rule"});
  }
  if (!keys) return keys;
  auto supported = optional_bool(value, path, "supported", true);
  if (!supported) return supported.status();
  out->supported = *supported;
  auto source = required_string(value, path, "source");
  if (!source) return source.status();
  out->source = std::move(*source);
  if (auto it = value.find("max_per_rule"); it != value.end()) {
    if (Status s = parse_limit(*it, child_path(path, "max_per_rule"), UINT32_MAX, true,
                               {"value", "source", "assumption"}, &out->max_per_rule);
        !s)
      return s;
  }
  for (std::string_view key : {"tpids", "ethertypes"}) {
    if (auto it = value.find(key); it != value.end()) {
      auto ethertypes = parse_ethertypes(*it, child_path(path, key));
      if (!ethertypes) return ethertypes.status();
      out->ethertypes = std::move(*ethertypes);
    }
  }
  auto prio = optional_bool(value, path, "prio", true);
  if (!prio) return prio.status();
  out->modify_prio = *prio;
  return Status::ok();
}

// A kind whose object is written as {"supported": false, "source": "..."}.
Result<bool> parse_unsupported_kind(const Json& value, const std::string& path,
                                    CapabilityActionKindSupport* out) {
  auto it = value.find("supported");
  if (it == value.end()) return false;
  if (!it->is_boolean() || it->get<bool>())
    return profile_error(child_path(path, "supported"),
                         "only false may be written here; list the supported forms instead");
  if (Status s = check_keys(value, path, {"supported", "source"}); !s) return s;
  auto source = required_string(value, path, "source");
  if (!source) return source.status();
  out->source = std::move(*source);
  return true;
}

Status parse_kind_count(const Json& value, const std::string& path, TcActionKind kind,
                        CapabilityActionKindSupport* out) {
  if (Status s = parse_limit(value, path, UINT32_MAX, true, {"value", "source", "assumption", "counts"},
                             &out->max_per_rule);
      !s)
    return s;
  out->counted = variants_of(kind);
  if (auto counts = value.find("counts"); counts != value.end()) {
    const std::string counts_path = child_path(path, "counts");
    if (!counts->is_array() || counts->empty())
      return profile_error(counts_path, "must be a non-empty array");
    out->counted.clear();
    for (size_t i = 0; i < counts->size(); ++i) {
      const Json& name = (*counts)[i];
      auto found = std::find_if(
          std::begin(kTcActionVariants), std::end(kTcActionVariants), [&](const TcActionVariantInfo& info) {
            return info.kind == kind && name.is_string() && info.name == name.get<std::string>();
          });
      if (found == std::end(kTcActionVariants))
        return profile_error(index_path(counts_path, i),
                             "not a form of " + std::string(kTcActionKindNames[static_cast<size_t>(kind)]));
      out->counted.push_back(found->variant);
    }
  }
  return Status::ok();
}

Status parse_variant_kind(const Json& value, const std::string& path, TcActionKind kind,
                          CapabilityProfile* profile) {
  if (Status s = expect_object(value, path); !s) return s;
  CapabilityActionKindSupport& kind_support = profile->kinds[static_cast<size_t>(kind)];
  auto unsupported = parse_unsupported_kind(value, path, &kind_support);
  if (!unsupported) return unsupported.status();
  if (*unsupported) return Status::ok();
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string key_path = child_path(path, it.key());
    if (it.key() == "max_per_rule") {
      if (Status s = parse_kind_count(it.value(), key_path, kind, &kind_support); !s) return s;
      continue;
    }
    if (it.key() == "source") {
      if (!it->is_string()) return profile_error(key_path, "must be a string");
      kind_support.source = it->get<std::string>();
      continue;
    }
    auto found = std::find_if(std::begin(kTcActionVariants), std::end(kTcActionVariants),
                              [&](const TcActionVariantInfo& info) {
                                return info.kind == kind && !info.name.empty() && info.name == it.key();
                              });
    if (found == std::end(kTcActionVariants)) {
      std::string allowed = "max_per_rule, source";
      for (TcActionVariant variant : variants_of(kind))
        allowed += ", " + std::string(tc_action_variant_name(variant));
      return profile_error(key_path, "unknown key (allowed here: " + allowed + ")");
    }
    if (Status s = parse_variant(it.value(), key_path, found->variant,
                                 &profile->variants[static_cast<size_t>(found->variant)]);
        !s)
      return s;
  }
  return Status::ok();
}

// The start shared by the action kinds with a single variant (pedit, csum):
// an object, either {"supported": false, ...} (returns false) or one with
// exactly `keys` and its source, which marks the variant supported (true).
Result<bool> parse_single_variant_kind(const Json& value, const std::string& path, K kind, V variant_id,
                                       std::initializer_list<std::string_view> keys,
                                       CapabilityProfile* profile) {
  if (Status s = expect_object(value, path); !s) return s;
  CapabilityActionKindSupport& kind_support = profile->kinds[static_cast<size_t>(kind)];
  auto unsupported = parse_unsupported_kind(value, path, &kind_support);
  if (!unsupported) return unsupported.status();
  if (*unsupported) return false;
  if (Status s = check_keys(value, path, keys); !s) return s;
  CapabilityActionVariantSupport& variant = profile->variants[static_cast<size_t>(variant_id)];
  auto source = required_string(value, path, "source");
  if (!source) return source.status();
  variant.source = *source;
  variant.supported = true;
  return true;
}

Status parse_pedit(const Json& value, const std::string& path, CapabilityProfile* profile) {
  auto supported = parse_single_variant_kind(value, path, K::kPedit, V::kPedit,
                                             {"headers", "max_keys", "source"}, profile);
  if (!supported) return supported.status();
  if (!*supported) return Status::ok();
  const std::string headers_path = child_path(path, "headers");
  auto headers = value.find("headers");
  if (headers == value.end()) return profile_error(headers_path, "missing");
  if (Status s = expect_object(*headers, headers_path); !s) return s;
  for (auto it = headers->begin(); it != headers->end(); ++it) {
    const std::string header_path = child_path(headers_path, it.key());
    auto header = tc_pedit_header_by_name(it.key());
    if (!header)
      return profile_error(header_path, "not a pedit header type (network, eth, ip4, ip6, tcp, udp)");
    CapabilityPeditHeaderSupport& support = profile->pedit.headers[*header];
    support.supported = true;
    if (it->is_string() && it->get<std::string>() == "any") {
      support.any_field = true;
      continue;
    }
    if (!it->is_array() || it->empty())
      return profile_error(header_path, "must be \"any\" or a non-empty array of field names");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& name = (*it)[i];
      const TcPeditFieldInfo* field =
          name.is_string() ? tc_pedit_field_by_name(*header, name.get<std::string>()) : nullptr;
      if (field == nullptr)
        return profile_error(index_path(header_path, i),
                             "not a field of the " + it.key() + " header (offload/tc_pedit_fields.cc)");
      support.fields.push_back(field->name);
    }
  }
  if (auto max_keys = value.find("max_keys"); max_keys != value.end()) {
    if (Status s = parse_limit(*max_keys, child_path(path, "max_keys"), UINT32_MAX, true,
                               {"value", "source", "assumption"}, &profile->pedit.max_keys);
        !s)
      return s;
  }
  return Status::ok();
}

Status parse_csum(const Json& value, const std::string& path, CapabilityProfile* profile) {
  auto supported = parse_single_variant_kind(value, path, K::kCsum, V::kCsum,
                                             {"update", "requires_pedit", "source"}, profile);
  if (!supported) return supported.status();
  if (!*supported) return Status::ok();
  const std::string update_path = child_path(path, "update");
  auto update = value.find("update");
  if (update == value.end() || !update->is_array() || update->empty())
    return profile_error(update_path,
                         "must be a non-empty array of iph, icmp, igmp, tcp, udp, udplite, sctp");
  for (size_t i = 0; i < update->size(); ++i) {
    const Json& name = (*update)[i];
    auto found = std::find_if(
        std::begin(kTcCsumFlagNames), std::end(kTcCsumFlagNames),
        [&](const TcCsumFlagName& flag) { return name.is_string() && flag.name == name.get<std::string>(); });
    if (found == std::end(kTcCsumFlagNames))
      return profile_error(index_path(update_path, i), "not one of iph, icmp, igmp, tcp, udp, udplite, sctp");
    profile->csum.update_flags |= found->flag;
  }
  auto requires_pedit = optional_bool(value, path, "requires_pedit", false);
  if (!requires_pedit) return requires_pedit.status();
  profile->csum.requires_pedit = *requires_pedit;
  return Status::ok();
}

Status parse_actions(const Json& value, const std::string& path, CapabilityProfile* profile) {
  if (Status s = expect_object(value, path); !s) return s;
  if (Status s = check_keys(
          value, path,
          {"max_per_rule", "min_per_rule", "mirred", "vlan", "mpls", "pedit", "csum", "tunnel_key", "gact"});
      !s)
    return s;
  auto max = value.find("max_per_rule");
  if (max == value.end()) return profile_error(child_path(path, "max_per_rule"), "missing");
  if (Status s = parse_limit(*max, child_path(path, "max_per_rule"), UINT32_MAX, true,
                             {"value", "source", "assumption"}, &profile->max_actions_per_rule);
      !s)
    return s;
  if (auto min = value.find("min_per_rule"); min != value.end()) {
    if (Status s = parse_limit(*min, child_path(path, "min_per_rule"), UINT32_MAX, false,
                               {"value", "source", "assumption"}, &profile->min_actions_per_rule);
        !s)
      return s;
  }
  // A kind the profile does not mention is unsupported; say so in reasons.
  for (size_t kind = 0; kind < profile->kinds.size(); ++kind)
    profile->kinds[kind].source = "not listed in the profile";
  for (TcActionKind kind : {K::kMirred, K::kVlan, K::kMpls, K::kTunnelKey, K::kGact}) {
    const std::string_view name = kTcActionKindNames[static_cast<size_t>(kind)];
    if (auto it = value.find(name); it != value.end()) {
      profile->kinds[static_cast<size_t>(kind)].source.clear();
      if (Status s = parse_variant_kind(*it, child_path(path, name), kind, profile); !s) return s;
    }
  }
  if (auto it = value.find("pedit"); it != value.end()) {
    profile->kinds[static_cast<size_t>(K::kPedit)].source.clear();
    if (Status s = parse_pedit(*it, child_path(path, "pedit"), profile); !s) return s;
  }
  if (auto it = value.find("csum"); it != value.end()) {
    profile->kinds[static_cast<size_t>(K::kCsum)].source.clear();
    if (Status s = parse_csum(*it, child_path(path, "csum"), profile); !s) return s;
  }
  return Status::ok();
}

// ---- limits ----

Status parse_chains(const Json& value, const std::string& path, CapabilityChainSupport* out) {
  if (Status s = expect_object(value, path); !s) return s;
  if (Status s = check_keys(value, path, {"supported", "max_chain", "source", "assumption"}); !s) return s;
  auto supported = value.find("supported");
  if (supported == value.end() || !supported->is_boolean())
    return profile_error(child_path(path, "supported"), "must be true or false");
  out->supported = supported->get<bool>();
  auto max_chain = value.find("max_chain");
  if (out->supported) {
    if (max_chain == value.end() || !max_chain->is_number_unsigned() ||
        max_chain->get<uint64_t>() > UINT32_MAX)
      return profile_error(child_path(path, "max_chain"), "must be a chain number (0 to 4294967295)");
    out->max_chain = static_cast<uint32_t>(max_chain->get<uint64_t>());
  } else if (max_chain != value.end()) {
    return profile_error(child_path(path, "max_chain"), "given although chains are not supported");
  }
  auto source = required_string(value, path, "source");
  if (!source) return source.status();
  out->source = std::move(*source);
  return Status::ok();
}

Status parse_limits(const Json& value, const std::string& path, CapabilityProfile* profile) {
  if (Status s = expect_object(value, path); !s) return s;
  if (Status s = check_keys(value, path, {"rules_per_device", "rules_per_port", "chains", "max_priority"});
      !s)
    return s;
  struct NamedLimit {
    std::string_view key;
    CapabilityLimit* limit;
    uint64_t max_value;
    bool allow_unbounded;
  };
  for (const NamedLimit& named :
       {NamedLimit{"rules_per_device", &profile->rules_per_device, UINT64_MAX, true},
        NamedLimit{"rules_per_port", &profile->rules_per_port, UINT64_MAX, true},
        NamedLimit{"max_priority", &profile->max_priority, UINT16_MAX, false}}) {
    const std::string limit_path = child_path(path, named.key);
    auto it = value.find(named.key);
    if (it == value.end()) return profile_error(limit_path, "missing");
    if (Status s = parse_limit(*it, limit_path, named.max_value, named.allow_unbounded,
                               {"value", "source", "assumption"}, named.limit);
        !s)
      return s;
  }
  auto chains = value.find("chains");
  if (chains == value.end()) return profile_error(child_path(path, "chains"), "missing");
  return parse_chains(*chains, child_path(path, "chains"), &profile->chains);
}

// "drivers": {"names": ["mlx5_core", ...], "source": "..."}.
Status parse_drivers(const Json& value, const std::string& path, CapabilityProfile* profile) {
  if (Status s = expect_object(value, path); !s) return s;
  if (Status s = check_keys(value, path, {"names", "source"}); !s) return s;
  const std::string names_path = child_path(path, "names");
  auto names = value.find("names");
  if (names == value.end() || !names->is_array() || names->empty())
    return profile_error(names_path, "must be a non-empty array of driver names (as ethtool -i prints them)");
  for (size_t i = 0; i < names->size(); ++i) {
    const Json& name = (*names)[i];
    // ethtool_drvinfo.driver is 32 bytes with its terminating NUL.
    if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > 31)
      return profile_error(index_path(names_path, i), "must be a driver name of 1 to 31 characters");
    const std::string driver = name.get<std::string>();
    if (std::find(profile->drivers.begin(), profile->drivers.end(), driver) != profile->drivers.end())
      return profile_error(index_path(names_path, i), driver + " is listed twice");
    profile->drivers.push_back(driver);
  }
  auto source = required_string(value, path, "source");
  if (!source) return source.status();
  profile->drivers_source = std::move(*source);
  return Status::ok();
}

// Records the first syntax error with nlohmann's own line/column text.
class CapabilityJsonSyntaxError : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& error) override {
    message = error.what();
    return false;
  }
  std::string message;
};

Result<std::string> read_profile_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ENOENT, "cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(EIO, "read error");
  return text.str();
}

std::string builtin_names_text() {
  std::string names;
  for (const std::string& name : builtin_capability_profile_names())
    names += (names.empty() ? "" : ", ") + name;
  return names;
}

}  // namespace

std::string_view tc_mask_capability_name(TcMaskCapability capability) {
  switch (capability) {
    case TcMaskCapability::kUnsupported:
      return "unsupported";
    case TcMaskCapability::kExact:
      return "exact";
    case TcMaskCapability::kPrefix:
      return "prefix";
    case TcMaskCapability::kAny:
      return "any";
  }
  return "unsupported";
}

TcActionVariant tc_action_variant(const TcAction& action) {
  struct VariantOf {
    V operator()(const TcMirredAction& mirred) const {
      return mirred.redirect ? V::kMirredRedirect : V::kMirredMirror;
    }
    V operator()(const TcVlanPushAction&) const { return V::kVlanPush; }
    V operator()(const TcVlanPopAction&) const { return V::kVlanPop; }
    V operator()(const TcVlanModifyAction&) const { return V::kVlanModify; }
    V operator()(const TcMplsPushAction&) const { return V::kMplsPush; }
    V operator()(const TcMplsPopAction&) const { return V::kMplsPop; }
    V operator()(const TcMplsModifyAction&) const { return V::kMplsModify; }
    V operator()(const TcPeditAction&) const { return V::kPedit; }
    V operator()(const TcCsumAction&) const { return V::kCsum; }
    V operator()(const TcTunnelKeySetAction&) const { return V::kTunnelKeySet; }
    V operator()(const TcTunnelKeyUnsetAction&) const { return V::kTunnelKeyUnset; }
    V operator()(const TcDropAction&) const { return V::kGactDrop; }
    V operator()(const TcGotoChainAction&) const { return V::kGactGotoChain; }
  };
  return std::visit(VariantOf{}, action);
}

TcActionKind tc_action_variant_kind(TcActionVariant variant) {
  return kTcActionVariants[static_cast<size_t>(variant)].kind;
}

std::string_view tc_action_variant_name(TcActionVariant variant) {
  return kTcActionVariants[static_cast<size_t>(variant)].name;
}

std::string_view tc_action_kind_name(TcActionKind kind) {
  return kTcActionKindNames[static_cast<size_t>(kind)];
}

std::string_view tc_csum_flag_name(uint32_t flag) {
  for (const TcCsumFlagName& name : kTcCsumFlagNames)
    if (name.flag == flag) return name.name;
  return {};
}

Result<CapabilityProfile> parse_capability_profile(std::string_view json_text) {
  Json root = Json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    CapabilityJsonSyntaxError syntax;
    Json::sax_parse(json_text.begin(), json_text.end(), &syntax);
    return invalid_argument("not valid JSON: " + syntax.message);
  }
  if (!root.is_object()) return invalid_argument("a capability profile must be a JSON object");
  if (Status s =
          check_keys(root, "", {"name", "description", "drivers", "notes", "match", "actions", "limits"});
      !s)
    return s;
  CapabilityProfile profile;
  auto name = required_string(root, "", "name");
  if (!name) return name.status();
  profile.name = std::move(*name);
  auto description = required_string(root, "", "description");
  if (!description) return description.status();
  profile.description = std::move(*description);
  if (auto notes = root.find("notes"); notes != root.end()) {
    if (!notes->is_array()) return profile_error("notes", "must be an array of strings");
    for (size_t i = 0; i < notes->size(); ++i) {
      if (!(*notes)[i].is_string()) return profile_error(index_path("notes", i), "must be a string");
      profile.notes.push_back((*notes)[i].get<std::string>());
    }
  }
  if (auto drivers = root.find("drivers"); drivers != root.end())
    if (Status s = parse_drivers(*drivers, "drivers", &profile); !s) return s;
  for (std::string_view section : {"match", "actions", "limits"})
    if (!root.contains(section)) return profile_error(std::string(section), "missing");
  if (Status s = parse_match(root["match"], "match", &profile); !s) return s;
  if (Status s = parse_actions(root["actions"], "actions", &profile); !s) return s;
  if (Status s = parse_limits(root["limits"], "limits", &profile); !s) return s;
  return profile;
}

std::vector<std::string> builtin_capability_profile_names() {
  std::vector<std::string> names;
  for (const BuiltinCapabilityProfileText& text : builtin_capability_profile_texts())
    names.emplace_back(text.name);
  return names;
}

Result<CapabilityProfile> load_capability_profile(std::string_view name_or_path) {
  const bool looks_like_path =
      name_or_path.find('/') != std::string_view::npos || name_or_path.ends_with(".json");
  if (!looks_like_path) {
    for (const BuiltinCapabilityProfileText& text : builtin_capability_profile_texts()) {
      if (text.name != name_or_path) continue;
      auto profile = parse_capability_profile(text.json);
      if (!profile) return profile.status().with_context("built-in profile " + std::string(text.name));
      return profile;
    }
  }
  const std::string path(name_or_path);
  auto text = read_profile_file(path);
  if (!text) {
    std::string message = path + ": " + text.status().message();
    if (!looks_like_path)
      message += " (and no built-in profile has that name; built-in: " + builtin_names_text() + ")";
    return Status(text.status().code(), message);
  }
  auto profile = parse_capability_profile(*text);
  if (!profile) return profile.status().with_context(path);
  return profile;
}

}  // namespace flowlift
