// Checksum arithmetic against published vectors and from-scratch recomputation.
#include "kmod/checksum.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

#include "kmod/execute_test_frames.h"

namespace flowlift {
namespace {

using execute_testing::ip4;
using execute_testing::reference_checksum;

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(Checksum, Rfc1071ExampleSumsAndComplements) {
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};  // RFC 1071 section 3
  EXPECT_EQ(checksum_accumulate(data), 0xddf2u);
  EXPECT_EQ(checksum_finish(checksum_accumulate(data)), 0x220d);
}

TEST(Checksum, OddTrailingBytePadsWithZero) {
  const uint8_t data[] = {0x12, 0x34, 0x56};
  EXPECT_EQ(checksum_accumulate(data), 0x1234u + 0x5600u);
}

TEST(Checksum, KnownIpv4HeaderChecksum) {
  // 20-byte header with its checksum field zeroed; its checksum is 0xb861.
  const uint8_t header[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(checksum_finish(checksum_accumulate(header)), 0xb861);
}

TEST(Checksum, Rfc1624Equation3GivesZeroNotFfff) {
  // RFC 1624 section 4: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives HC' 0x0000
  // (equation 2 of RFC 1141 would give 0xffff).
  Be16 updated = checksum_replace16(htons(0xdd2f), htons(0x5555), htons(0x3285));
  EXPECT_EQ(ntohs(updated), 0x0000);
}

TEST(Checksum, IncrementalReplaceMatchesRecomputationFromScratch) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<uint8_t> data(64);
    for (auto& b : data) b = static_cast<uint8_t>(rng() | 1);
    const Be16 check = htons(reference_checksum(data));

    std::vector<uint8_t> changed = data;
    const size_t word = (rng() % 30) * 2;
    Be32 old32, new32;
    std::memcpy(&old32, &data[word], 4);
    new32 = static_cast<Be32>(rng() | 0x01010101);
    std::memcpy(&changed[word], &new32, 4);
    EXPECT_EQ(ntohs(checksum_replace32(check, old32, new32)), reference_checksum(changed))
        << "round " << round;

    Be16 old16, new16 = static_cast<Be16>(rng() | 0x0101);
    std::memcpy(&old16, &data[word], 2);
    changed = data;
    std::memcpy(&changed[word], &new16, 2);
    EXPECT_EQ(ntohs(checksum_replace16(check, old16, new16)), reference_checksum(changed))
        << "round " << round;

    const size_t address = (rng() % 25) * 2;
    Ipv6Addr old6, new6;
    std::memcpy(old6.data(), &data[address], 16);
    for (auto& b : new6) b = static_cast<uint8_t>(rng() | 1);
    changed = data;
    std::memcpy(&changed[address], new6.data(), 16);
    EXPECT_EQ(ntohs(checksum_replace_ipv6(check, old6, new6)), reference_checksum(changed))
        << "round " << round;
  }
}

TEST(Checksum, PseudoHeaderSumsMatchFromScratch) {
  const Be32 src = ip4("192.0.2.1"), dst = ip4("198.51.100.2");
  // c000 + 0201 + c633 + 6402 + 0011 + 001c, folded.
  uint32_t expected = 0xc000 + 0x0201 + 0xc633 + 0x6402 + 0x0011 + 0x001c;
  expected = (expected & 0xffff) + (expected >> 16);
  EXPECT_EQ(ipv4_pseudo_header_sum(src, dst, 17, 28), expected);

  const Ipv6Addr a = execute_testing::ip6("2001:db8::1"), b = execute_testing::ip6("2001:db8::2");
  uint64_t sum = execute_testing::pseudo_header_sum_v6(a.data(), b.data(), 58, 70000);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(ipv6_pseudo_header_sum(a, b, 58, 70000), sum);
}

TEST(Crc32c, PublishedVectors) {
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xe3069283u);
  // RFC 3720 appendix B.4.
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), incrementing(32);
  for (int i = 0; i < 32; ++i) incrementing[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(zeros), 0x8a9136aau);
  EXPECT_EQ(crc32c(ones), 0x62a8ab43u);
  EXPECT_EQ(crc32c(incrementing), 0x46dd794eu);
}

TEST(Crc32c, ChainsAcrossCalls) {
  EXPECT_EQ(crc32c(as_bytes("6789"), crc32c(as_bytes("12345"))), 0xe3069283u);
}

TEST(SctpChecksum, IgnoresTheStoredChecksumField) {
  std::vector<uint8_t> packet(40);
  for (size_t i = 0; i < packet.size(); ++i) packet[i] = static_cast<uint8_t>(i * 13 + 5);
  const uint32_t expected = execute_testing::reference_sctp_checksum(packet);
  EXPECT_EQ(sctp_checksum(packet), expected);
  packet[8] ^= 0xff;
  EXPECT_EQ(sctp_checksum(packet), expected);
}

}  // namespace
}  // namespace flowlift
