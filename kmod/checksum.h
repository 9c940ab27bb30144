// Checksums the datapath maintains in packets: the Internet checksum (RFC 1071)
// computed in full, its incremental update when a covered word changes (RFC 1624
// eqn. 3, what the kernel's csum_replace2/4/16 compute), the TCP/UDP/ICMPv6
// pseudo-header sums, and the CRC32c that SCTP carries (RFC 4960 appendix B).
#pragma once

#include <cstdint>
#include <span>

#include "flowlift/flow_key.h"

namespace flowlift {

// --- Full computation, host-order values -----------------------------------

// Adds `bytes` as big-endian 16-bit words (an odd final byte padded with zero)
// to the one's-complement accumulator `sum`. Only the last call of a sequence
// may pass an odd number of bytes.
uint32_t checksum_accumulate(std::span<const uint8_t> bytes, uint32_t sum = 0);

// Folds the accumulator with end-around carry and complements it: the value to
// store in the checksum field (host order; write it with store_be16).
uint16_t checksum_finish(uint32_t sum);

// The sums of the pseudo-headers TCP, UDP (RFC 768/793) and ICMPv6 (RFC 8200
// section 8.1) prepend. Addresses in network order, as in FlowKey.
uint32_t ipv4_pseudo_header_sum(Be32 src, Be32 dst, uint8_t protocol, uint16_t l4_length);
uint32_t ipv6_pseudo_header_sum(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                                uint32_t l4_length);

// UDP transmits a computed checksum of zero as 0xffff, because zero on the wire
// means "no checksum" (RFC 768; the kernel's CSUM_MANGLED_0).
inline constexpr uint16_t kUdpChecksumZeroReplacement = 0xffff;

// --- Incremental update, network-order values ------------------------------
//
// `check` is the checksum field as loaded from the packet (load_raw<Be16>), and
// the result is what to store back (store_raw). One's-complement addition does
// not care about byte order, so these work on memory-order words directly, as
// the kernel's do on __be16/__be32.

Be16 checksum_replace16(Be16 check, Be16 old_word, Be16 new_word);
Be16 checksum_replace32(Be16 check, Be32 old_word, Be32 new_word);
Be16 checksum_replace_ipv6(Be16 check, const Ipv6Addr& old_address, const Ipv6Addr& new_address);

// --- SCTP -------------------------------------------------------------------

// CRC32c (Castagnoli), chainable: crc32c(b, crc32c(a)) == crc32c(a + b).
// crc32c("123456789") == 0xe3069283.
uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0);

// The checksum of an SCTP packet (common header + chunks) computed as if its
// checksum field (bytes 8..11) were zero. SCTP stores it least significant byte
// first: store_le32(header + 8, sctp_checksum(...)).
uint32_t sctp_checksum(std::span<const uint8_t> sctp_packet);

}  // namespace flowlift
