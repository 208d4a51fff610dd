#include "common/model/net_format.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

TEST(Ipv4Test, ParsesDottedQuadToHostOrder) {
  absl::StatusOr<uint32_t> ip = ParseIpv4("10.0.1.10");
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_EQ(*ip, 0x0a00010au);
  EXPECT_EQ(*ParseIpv4("0.0.0.0"), 0u);
  EXPECT_EQ(*ParseIpv4("255.255.255.255"), 0xffffffffu);
}

TEST(Ipv4Test, RejectsAnythingButFourPlainOctets) {
  for (const char* text : {"", "10.0.1", "10.0.1.10.1", "10.0.1.256", "10.0.01.1", "10.0.1.-1",
                           "10.0.1.+1", "10.0.1.1 ", " 10.0.1.1", "10..1.1", "a.b.c.d",
                           "0x0a.0.0.1", "10.0.1.1/24", "1000.0.0.1"}) {
    absl::StatusOr<uint32_t> ip = ParseIpv4(text);
    EXPECT_FALSE(ip.ok()) << text;
    EXPECT_THAT(std::string(ip.status().message()), HasSubstr("is not an IPv4 address"));
  }
}

TEST(Ipv4Test, FormatsWhatItParses) {
  EXPECT_EQ(FormatIpv4(0xc6120001u), "198.18.0.1");
  for (const char* text : {"0.0.0.0", "10.0.1.10", "255.255.255.255"}) {
    EXPECT_EQ(FormatIpv4(*ParseIpv4(text)), text);
  }
}

TEST(Ipv6Test, ParsesWhatInetPtonReadsAndFormatsRfc5952) {
  absl::StatusOr<Ipv6Address> ip = ParseIpv6("2001:DB8:0:0:0:0:0:1");
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_EQ((*ip)[0], 0x20);
  EXPECT_EQ((*ip)[1], 0x01);
  EXPECT_EQ((*ip)[15], 0x01);
  EXPECT_EQ(FormatIpv6(*ip), "2001:db8::1");
  for (const char* text : {"", "2001:db8::1::2", "2001:db8::g", "2001:db8::1%eth0", "10.0.0.1",
                           "2001:db8::1/64", " 2001:db8::1", "12345::1"}) {
    absl::StatusOr<Ipv6Address> bad = ParseIpv6(text);
    EXPECT_FALSE(bad.ok()) << text;
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr("is not an IPv6 address"));
  }
  // A NUL would cut the text short for inet_pton: refused, not read as "::1".
  EXPECT_FALSE(ParseIpv6(std::string("::1\0garbage", 11)).ok());
}

TEST(UnderlayAddressTest, EitherFamilyByItsTextAndItsReference) {
  absl::StatusOr<UnderlayAddress> v4 = ParseUnderlayAddress("198.18.0.1");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_FALSE(v4->is_v6());
  EXPECT_EQ(v4->Ref(), 0xc6120001u);
  EXPECT_EQ(FormatUnderlayAddress(*v4), "198.18.0.1");
  absl::StatusOr<UnderlayAddress> v6 = ParseUnderlayAddress("2001:db8:1::c612:2");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_TRUE(v6->is_v6());
  EXPECT_EQ(v6->Ref(), 0xc6120002u) << "the last 32 bits";
  EXPECT_EQ(FormatUnderlayAddress(*v6), "2001:db8:1::c612:2");
  EXPECT_THAT(std::string(ParseUnderlayAddress("198.18.0").status().message()),
              HasSubstr("neither an IPv4 nor an IPv6 address"));
  EXPECT_THAT(std::string(ParseUnderlayAddress("2001:db8::x").status().message()),
              HasSubstr("is not an IPv6 address"));
}

TEST(Ipv4PrefixTest, Parses) {
  absl::StatusOr<Ipv4Prefix> prefix = ParseIpv4Prefix("10.0.1.0/24");
  ASSERT_TRUE(prefix.ok()) << prefix.status();
  EXPECT_EQ(*prefix, (Ipv4Prefix{0x0a000100u, 24}));
  EXPECT_EQ(*ParseIpv4Prefix("0.0.0.0/0"), (Ipv4Prefix{0, 0}));
  EXPECT_EQ(*ParseIpv4Prefix("10.0.1.7/32"), (Ipv4Prefix{0x0a000107u, 32}));
  EXPECT_EQ(FormatIpv4Prefix(*prefix), "10.0.1.0/24");
}

TEST(Ipv4PrefixTest, RejectsBadSyntaxAndLength) {
  for (const char* text : {"10.0.1.0", "10.0.1.0/", "10.0.1.0/33", "10.0.1.0/024", "10.0.1.0/-1",
                           "10.0.1/24", "10.0.1.0/24/1", "/24"}) {
    absl::StatusOr<Ipv4Prefix> prefix = ParseIpv4Prefix(text);
    EXPECT_FALSE(prefix.ok()) << text;
    EXPECT_THAT(std::string(prefix.status().message()),
                HasSubstr(std::string("\"") + text + "\" is not an IPv4 prefix"));
  }
}

TEST(Ipv4PrefixTest, RejectsHostBitsAndNamesTheNetwork) {
  absl::StatusOr<Ipv4Prefix> prefix = ParseIpv4Prefix("10.0.1.1/24");
  EXPECT_FALSE(prefix.ok());
  EXPECT_THAT(std::string(prefix.status().message()),
              HasSubstr("10.0.1.1/24 has host bits set (the network is "
                        "10.0.1.0/24)"));
}

TEST(Ipv4PrefixTest, CheckRefusesWhatParseRefuses) {
  EXPECT_TRUE(CheckIpv4Prefix({0x0a000100u, 24}).ok());
  EXPECT_TRUE(CheckIpv4Prefix({0, 0}).ok());
  EXPECT_FALSE(CheckIpv4Prefix({0x0a000100u, 33}).ok());
  EXPECT_FALSE(CheckIpv4Prefix({0x0a000101u, 24}).ok());
  EXPECT_FALSE(CheckIpv4Prefix({1, 0}).ok());
}

TEST(Ipv4PrefixTest, MaskBroadcastContains) {
  const Ipv4Prefix p{0x0a000100u, 24};
  EXPECT_EQ(p.Mask(), 0xffffff00u);
  EXPECT_EQ(p.Broadcast(), 0x0a0001ffu);
  EXPECT_TRUE(p.Contains(0x0a000100u));
  EXPECT_TRUE(p.Contains(0x0a0001ffu));
  EXPECT_FALSE(p.Contains(0x0a000200u));
  EXPECT_FALSE(p.Contains(0x0a0000ffu));
  const Ipv4Prefix all{0, 0};
  EXPECT_EQ(all.Mask(), 0u);
  EXPECT_TRUE(all.Contains(0xffffffffu));
  const Ipv4Prefix host{0x0a000107u, 32};
  EXPECT_TRUE(host.Contains(0x0a000107u));
  EXPECT_FALSE(host.Contains(0x0a000106u));
}

TEST(Ipv4PrefixTest, OverlapsIsSymmetricAndCoversNesting) {
  const Ipv4Prefix p24 = *ParseIpv4Prefix("10.0.1.0/24");
  const Ipv4Prefix p16 = *ParseIpv4Prefix("10.0.0.0/16");
  const Ipv4Prefix p25 = *ParseIpv4Prefix("10.0.1.128/25");
  const Ipv4Prefix other = *ParseIpv4Prefix("10.0.2.0/24");
  const Ipv4Prefix all = *ParseIpv4Prefix("0.0.0.0/0");
  EXPECT_TRUE(p24.Overlaps(p24));
  EXPECT_TRUE(p24.Overlaps(p16));
  EXPECT_TRUE(p16.Overlaps(p24));
  EXPECT_TRUE(p24.Overlaps(p25));
  EXPECT_TRUE(p25.Overlaps(p24));
  EXPECT_TRUE(all.Overlaps(other));
  EXPECT_FALSE(p24.Overlaps(other));
  EXPECT_FALSE(other.Overlaps(p25));
}

TEST(MacTest, ParsesEitherCaseAndFormatsLower) {
  absl::StatusOr<MacAddress> mac = ParseMac("02:00:00:0A:01:fe");
  ASSERT_TRUE(mac.ok()) << mac.status();
  EXPECT_EQ(*mac, (MacAddress{0x02, 0x00, 0x00, 0x0a, 0x01, 0xfe}));
  EXPECT_EQ(FormatMac(*mac), "02:00:00:0a:01:fe");
}

TEST(MacTest, RejectsOtherForms) {
  for (const char* text : {"", "02:00:00:00:01", "02:00:00:00:01:10:11", "02-00-00-00-01-10",
                           "2:00:00:00:01:10", "002:00:00:00:01:10", "02:00:00:00:01:1g",
                           "0200.0000.0110", "02:00:00:00:01:+1", "0x:00:00:00:01:10"}) {
    absl::StatusOr<MacAddress> mac = ParseMac(text);
    EXPECT_FALSE(mac.ok()) << text;
    EXPECT_THAT(std::string(mac.status().message()), HasSubstr("is not a MAC address"));
  }
}

TEST(MacTest, Unicast) {
  EXPECT_TRUE(IsUnicastMac(*ParseMac("02:00:00:00:01:10")));
  EXPECT_TRUE(IsUnicastMac(*ParseMac("00:00:00:00:00:01")));
  EXPECT_FALSE(IsUnicastMac(*ParseMac("00:00:00:00:00:00")));
  EXPECT_FALSE(IsUnicastMac(*ParseMac("ff:ff:ff:ff:ff:ff")));
  EXPECT_FALSE(IsUnicastMac(*ParseMac("01:00:5e:00:00:01")));
  EXPECT_FALSE(IsUnicastMac(*ParseMac("33:33:00:00:00:01")));
}

}  // namespace
}  // namespace weft
