// Accuracy of a model on labelled examples (synthetic tasks): at each position with a label the prediction is
// the argmax of the logits, compared with the label. Positions are bucketed by their index in the example, so
// length generalisation shows as accuracy per position range.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model.h"

namespace hyb {

struct AccuracyBucket {
  int64_t lo = 0, hi = 0;  // positions [lo, hi)
  int64_t correct = 0, total = 0;
};

struct AccuracyResult {
  int64_t correct = 0, total = 0;        // answer positions
  int64_t examples = 0, exact = 0;       // examples with every answer right
  int64_t final_correct = 0;             // examples whose last answer is right
  double nll_sum = 0;                    // Σ −ln p(label) over answers
  std::vector<AccuracyBucket> buckets;
  double accuracy() const { return total ? double(correct) / double(total) : 0.0; }
};

class AccuracyCounter {
 public:
  AccuracyCounter(Model& model, int64_t bucket) : model_(model), bucket_(bucket) {}
  // ids and labels have n entries; label −1 = not scored. Trailing unscored positions are not run.
  void add(const int32_t* ids, const int32_t* labels, int64_t n);
  const AccuracyResult& result() const { return r_; }

 private:
  Model& model_;
  int64_t bucket_;
  AccuracyResult r_;
  std::vector<float> logits_;
};

}  // namespace hyb
