#include "tokenizer/added_tokens.h"

namespace hyb {

const std::vector<AddedToken>& dolma2_added_tokens() {
  static const std::vector<AddedToken> tokens = [] {
    std::vector<AddedToken> t = {
        {100256, "<|extra_id_0|>", false},      {100257, kEndOfText, true},
        {100258, "<|fim_prefix|>", true},       {100259, "<|fim_middle|>", true},
        {100260, "<|fim_suffix|>", true},       {100261, "|||PHONE_NUMBER|||", false},
        {100262, "|||EMAIL_ADDRESS|||", false}, {100263, "|||IP_ADDRESS|||", false},
        {100264, kImStart, true},               {100265, kImEnd, true},
    };
    for (int i = 1; i <= 10; ++i) t.push_back({100265 + i, "<|extra_id_" + std::to_string(i) + "|>", false});
    t.push_back({100276, "<|endofprompt|>", true});
    t.push_back({100277, kPad, true});
    return t;
  }();
  return tokens;
}

}  // namespace hyb
