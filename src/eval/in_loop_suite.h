// The trainer's in-loop downstream evaluation (as OLMo-core's in-loop evaluators): a multiple-choice suite scored
// with the training weights at every validation point, so a run's metrics.jsonl carries the MMLU-analog (the
// knowledge group's mean correct-answer bits per byte) against tokens without saving a checkpoint per point.
#pragma once
#include <cstdint>
#include <string>

#include "train/trainer.h"

namespace hyb {

// Loads the suite file and the tokenizer (tokenizer.json or its directory) now, so a bad file fails before the
// first step. The evaluator logs {"suite": {"groups": {G: {"bpb", "acc"}}, "tasks": {NAME: {"bpb", "acc"}}}} (the
// primary normalisation's accuracy) and puts each group's BPB on the progress line. max_items > 0 scores the
// first max_items items of each task.
InLoopEvaluator make_in_loop_suite(const std::string& suite_path, int64_t max_items, const std::string& tokenizer);

}  // namespace hyb
