// Internet checksum, incremental updates and CRC32c (see checksum.h).
#include "kmod/checksum.h"

#include <array>

#include "kmod/packet_bytes.h"

namespace flowlift {
namespace {

uint32_t fold_to_16(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}

// Sum of the 16-bit memory-order words of `bytes` (even length).
uint64_t raw_word_sum(const uint8_t* bytes, size_t length) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < length; i += 2) sum += load_raw<uint16_t>(bytes + i);
  return sum;
}

Be16 replace(Be16 check, uint64_t old_words_sum, uint64_t new_words_sum, int word_count) {
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). ~m over n words is n * 0xffff - m.
  uint64_t sum = static_cast<uint16_t>(~check);
  sum += uint64_t{0xffff} * static_cast<uint64_t>(word_count) - old_words_sum;
  sum += new_words_sum;
  return static_cast<Be16>(~fold_to_16(sum));
}

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;  // reflected 0x1edc6f41
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

}  // namespace

uint32_t checksum_accumulate(std::span<const uint8_t> bytes, uint32_t sum) {
  uint64_t total = sum;
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) total += load_be16(bytes.data() + i);
  if (i < bytes.size()) total += uint32_t{bytes[i]} << 8;
  return fold_to_16(total);
}

uint16_t checksum_finish(uint32_t sum) { return static_cast<uint16_t>(~fold_to_16(sum)); }

uint32_t ipv4_pseudo_header_sum(Be32 src, Be32 dst, uint8_t protocol, uint16_t l4_length) {
  uint8_t header[12];
  store_raw(header, src);
  store_raw(header + 4, dst);
  header[8] = 0;
  header[9] = protocol;
  store_be16(header + 10, l4_length);
  return checksum_accumulate(header);
}

uint32_t ipv6_pseudo_header_sum(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                                uint32_t l4_length) {
  uint8_t tail[8] = {};
  store_be32(tail, l4_length);
  tail[7] = next_header;
  uint32_t sum = checksum_accumulate(src);
  sum = checksum_accumulate(dst, sum);
  return checksum_accumulate(tail, sum);
}

Be16 checksum_replace16(Be16 check, Be16 old_word, Be16 new_word) {
  return replace(check, old_word, new_word, 1);
}

Be16 checksum_replace32(Be16 check, Be32 old_word, Be32 new_word) {
  uint8_t old_bytes[4], new_bytes[4];
  store_raw(old_bytes, old_word);
  store_raw(new_bytes, new_word);
  return replace(check, raw_word_sum(old_bytes, 4), raw_word_sum(new_bytes, 4), 2);
}

Be16 checksum_replace_ipv6(Be16 check, const Ipv6Addr& old_address, const Ipv6Addr& new_address) {
  return replace(check, raw_word_sum(old_address.data(), 16), raw_word_sum(new_address.data(), 16), 8);
}

uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc) {
  uint32_t c = ~crc;
  for (uint8_t b : bytes) c = kCrc32cTable[(c ^ b) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t sctp_checksum(std::span<const uint8_t> sctp_packet) {
  static constexpr uint8_t kZeroChecksum[4] = {};
  if (sctp_packet.size() < 12) return crc32c(sctp_packet);
  uint32_t crc = crc32c(sctp_packet.first(8));
  crc = crc32c(kZeroChecksum, crc);
  return crc32c(sctp_packet.subspan(12), crc);
}

}  // namespace flowlift
