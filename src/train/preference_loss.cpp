#include "train/preference_loss.h"

#include <cmath>

#include "core/error.h"

namespace hyb {

PrefLoss parse_pref_loss(const std::string& name) {
  if (name == "dpo") return PrefLoss::Dpo;
  if (name == "dpo_norm") return PrefLoss::DpoNorm;
  if (name == "simpo") return PrefLoss::Simpo;
  fail("unknown preference loss '", name, "' (expected dpo, dpo_norm or simpo)");
}

const char* pref_loss_name(PrefLoss k) {
  return k == PrefLoss::Dpo ? "dpo" : k == PrefLoss::DpoNorm ? "dpo_norm" : "simpo";
}

namespace {
// log σ(x) without overflow, and σ(x).
double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }
double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
}  // namespace

PrefMetrics preference_loss(const PrefLossConfig& cfg, const SeqLogps& policy, const SeqLogps* ref,
                            std::vector<double>* dlogp) {
  const size_t S = policy.logp.size();
  if (S % 2) fail("preference batch: odd number of sequences (", S, "); pairs are chosen, rejected");
  if (needs_reference(cfg.kind) && (!ref || ref->logp.size() != S))
    fail(pref_loss_name(cfg.kind), ": reference log-probs missing for the batch");
  const int64_t P = int64_t(S / 2);
  const double beta = cfg.beta, eps = cfg.label_smoothing;
  if (dlogp) dlogp->assign(S, 0.0);
  PrefMetrics m;
  m.pairs = P;
  if (P == 0) return m;
  for (int64_t p = 0; p < P; ++p) {
    const size_t c = size_t(2 * p), r = c + 1;
    const double nc = double(std::max<int64_t>(1, policy.count[c])), nr = double(std::max<int64_t>(1, policy.count[r]));
    // The log-prob terms in the loss's normalisation, and their derivatives w.r.t. the summed log-probs.
    const bool mean = cfg.kind != PrefLoss::Dpo;
    const double sc = mean ? 1.0 / nc : 1.0, sr = mean ? 1.0 / nr : 1.0;
    double ac = policy.logp[c] * sc, ar = policy.logp[r] * sr;  // "rewards" before β
    if (cfg.kind != PrefLoss::Simpo) {
      ac -= ref->logp[c] * sc;
      ar -= ref->logp[r] * sr;
    }
    const double z = beta * (ac - ar) - (cfg.kind == PrefLoss::Simpo ? cfg.gamma_ratio * beta : 0.0);
    const double loss = -(1.0 - eps) * log_sigmoid(z) - eps * log_sigmoid(-z);
    // dL/dz = −(1 − ε) σ(−z) + ε σ(z)
    const double dz = -(1.0 - eps) * sigmoid(-z) + eps * sigmoid(z);
    if (dlogp) {
      (*dlogp)[c] = dz * beta * sc / double(P);
      (*dlogp)[r] = -dz * beta * sr / double(P);
    }
    m.loss += loss;
    m.reward_chosen += beta * ac;
    m.reward_rejected += beta * ar;
    m.accuracy += beta * ac > beta * ar ? 1.0 : 0.0;
    m.margin += beta * (ac - ar);
    m.logp_chosen += policy.logp[c];
    m.logp_rejected += policy.logp[r];
  }
  for (double* v : {&m.loss, &m.reward_chosen, &m.reward_rejected, &m.accuracy, &m.margin, &m.logp_chosen,
                    &m.logp_rejected})
    *v /= double(P);
  return m;
}

}  // namespace hyb
