#include <gtest/gtest.h>

#include "serve/partial_match.h"

namespace hyb::serve {
namespace {

TEST(PartialMatch, LongestProperPrefixAtTheEnd) {
  EXPECT_EQ(partial_match_tail("hello <func", "<function_calls>"), 5u);
  EXPECT_EQ(partial_match_tail("hello <", "<function_calls>"), 1u);
  EXPECT_EQ(partial_match_tail("hello", "<function_calls>"), 0u);
  // A whole marker is a match, not a partial one: the caller finds it first.
  EXPECT_EQ(partial_match_tail("x<function_calls>", "<function_calls>"), 0u);
  // Overlapping candidates: the longest wins.
  EXPECT_EQ(partial_match_tail("abab", "ababc"), 4u);
  EXPECT_EQ(partial_match_tail("aaa", "aaaa"), 3u);
  EXPECT_EQ(partial_match_tail("", "stop"), 0u);
  EXPECT_EQ(partial_match_tail("st", ""), 0u);
  EXPECT_EQ(partial_match_tail("s", "st"), 1u);
}

}  // namespace
}  // namespace hyb::serve
