#include <cstdio>
#include <vector>

#include "cli/common.h"
#include "core/error.h"
#include "core/npy.h"
#include "train/grad_model.h"
#include "train/grads_io.h"

namespace hyb::cli {

int run_grads(int argc, char** argv) {
  CLI::App app{"Mean next-token cross-entropy of a token sequence (labels = ids shifted by one) and its gradient "
               "with respect to every parameter, written as F32 under the checkpoint's tensor names",
               argv[0]};
  std::string dir, ids_path, out;
  double z_loss = 0;
  int threads = 0;
  std::string compute;
  app.add_option("-m,--model", dir, "Checkpoint directory")->required();
  app.add_option("--ids", ids_path, "Token ids .npy (int32/int64, shape [T] or [B, T]; T >= 2)")->required();
  app.add_option("-o,--out", out, "Output .safetensors with one F32 gradient per checkpoint tensor")->required();
  app.add_option("--z-loss", z_loss, "Add z_loss · mean(logsumexp²) to the loss being differentiated")
      ->default_val(0.0)
      ->check(CLI::NonNegativeNumber);
  add_threads(app, threads);
  add_compute(app, compute, "exact");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  set_threads(threads);
  apply_compute(compute);

  const Weights w = Weights::load(dir, WeightDType::F32);
  const ModelConfig& c = w.config();
  const auto rows = npy_read_ids(ids_path, c.vocab_size);
  const int64_t B = int64_t(rows.size()), T = int64_t(rows[0].size());
  if (T < 2) fail(ids_path, ": need at least 2 ids per sequence for a next-token loss, got ", T);
  std::vector<int32_t> ids;
  for (auto& r : rows) ids.insert(ids.end(), r.begin(), r.end());

  GradModel gm(w);
  ParamTensors grads(c);
  const LossStats s = gm.loss_and_grads(ids.data(), B, T, grads, z_loss);
  const size_t n = write_like_checkpoint(dir, grads, out);
  std::printf("loss %.9f\n", s.loss);
  if (z_loss > 0) std::printf("z_loss %.9f\n", z_loss * s.z_mean);
  std::fprintf(stderr, "wrote %s (%zu tensors, %ld targets)\n", out.c_str(), n, long(s.count));
  return 0;
}

}  // namespace hyb::cli
