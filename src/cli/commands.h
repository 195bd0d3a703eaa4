// Every subcommand is `int run_X(int argc, char** argv)` with argv[0] = "hybrid X"; main() dispatches.
#pragma once

namespace hyb::cli {

int run_info(int argc, char** argv);
int run_logits(int argc, char** argv);
int run_init(int argc, char** argv);
int run_generate(int argc, char** argv);
int run_grads(int argc, char** argv);
int run_logps(int argc, char** argv);
int run_sft(int argc, char** argv);
int run_dpo(int argc, char** argv);
int run_prepare(int argc, char** argv);
int run_train(int argc, char** argv);
int run_tokenize(int argc, char** argv);
int run_detokenize(int argc, char** argv);
int run_tokenizer(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_synth(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_quantize(int argc, char** argv);
int run_serve(int argc, char** argv);

}  // namespace hyb::cli
