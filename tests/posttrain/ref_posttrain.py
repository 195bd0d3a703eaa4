"""Float64 references for the post-training objectives, built on the independent PyTorch reference model.

usage: ref_posttrain.py REF_TOOL MODEL_DIR MODE DATA.jsonl OUT [--ref REF_DIR] [--loss dpo|dpo_norm|simpo]
                        [--beta B] [--label-smoothing E] [--gamma-ratio G]
  MODE sft:   rows {"input_ids", "labels"} (-100 = not scored; label t is predicted from tokens < t). Prints
              "loss <value>" (token mean over every scored label of the file) and writes its gradients to OUT.
  MODE dpo:   rows {"prompt_ids", "chosen_ids", "rejected_ids"}. Prints "loss <value>" (mean over pairs) and
              writes the policy's gradients to OUT; reference log-probs from --ref (not for simpo).
  MODE logps: SFT or DPO rows; writes OUT as JSONL with the summed log-prob and count of each row's scored tokens.
Every sequence runs alone (batch of one), so nothing here depends on packing.
"""
import argparse
import importlib.util
import json

import torch
import torch.nn.functional as F


def load_ref(path):
    spec = importlib.util.spec_from_file_location("ref", path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    return ref


def seq_logp(model, ids, labels):
    """Σ log p(labels[t] | ids[:t]) over labels != -100, and the count."""
    x = torch.tensor([ids], dtype=torch.int64)
    logits = model(x)[0]
    lp = F.log_softmax(logits[:-1], dim=-1)
    tgt = torch.tensor(labels[1:], dtype=torch.int64)
    mask = tgt != -100
    picked = lp[torch.arange(len(tgt))[mask], tgt[mask]]
    return picked.sum(), int(mask.sum())


def pair_seqs(row):
    p = row["prompt_ids"]
    out = []
    for k in ("chosen_ids", "rejected_ids"):
        c = row[k]
        out.append((p + c, [-100] * len(p) + c))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref_tool")
    ap.add_argument("model")
    ap.add_argument("mode", choices=["sft", "dpo", "logps"])
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--ref")
    ap.add_argument("--loss", default="dpo_norm")
    ap.add_argument("--beta", type=float, default=5.0)
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--gamma-ratio", type=float, default=0.3)
    a = ap.parse_args()
    ref = load_ref(a.ref_tool)
    torch.set_num_threads(1)
    model, plan, _ = ref.load_model(a.model, torch.float64)
    rows = [json.loads(l) for l in open(a.data) if l.strip()]

    if a.mode == "logps":
        with torch.no_grad(), open(a.out, "w") as f:
            for r in rows:
                if "prompt_ids" in r:
                    (c, cl), (j, jl) = pair_seqs(r)
                    lc, nc = seq_logp(model, c, cl)
                    lj, nj = seq_logp(model, j, jl)
                    f.write(json.dumps({"chosen_logp": lc.item(), "chosen_tokens": nc, "rejected_logp": lj.item(),
                                        "rejected_tokens": nj}) + "\n")
                else:
                    lp, n = seq_logp(model, r["input_ids"], r["labels"])
                    f.write(json.dumps({"logp": lp.item(), "tokens": n}) + "\n")
        return

    model.zero_grad(set_to_none=True)
    if a.mode == "sft":
        total = sum(sum(1 for v in r["labels"][1:] if v != -100) for r in rows)
        loss = 0.0
        for r in rows:
            lp, _ = seq_logp(model, r["input_ids"], r["labels"])
            l = -lp / total
            l.backward()
            loss += l.item()
    else:
        rmodel = None
        if a.loss != "simpo":
            rmodel, _, _ = ref.load_model(a.ref, torch.float64)
        beta, eps = a.beta, a.label_smoothing
        loss = 0.0
        for r in rows:
            (c, cl), (j, jl) = pair_seqs(r)
            pc, nc = seq_logp(model, c, cl)
            pj, nj = seq_logp(model, j, jl)
            if a.loss == "simpo":
                z = beta * (pc / nc - pj / nj) - a.gamma_ratio * beta
            else:
                with torch.no_grad():
                    rc, _ = seq_logp(rmodel, c, cl)
                    rj, _ = seq_logp(rmodel, j, jl)
                if a.loss == "dpo":
                    h = (pc - rc) - (pj - rj)
                else:  # dpo_norm: per-token means
                    h = (pc - rc) / nc - (pj - rj) / nj
                z = beta * h
            l = (-(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z)) / len(rows)
            l.backward()
            loss += l.item()
    grads = {n: p.grad for n, p in model.named_parameters()}
    ref.write_safetensors(a.out, ref.export_with_plan(plan, grads), dtype=torch.float32)
    print(f"loss {loss!r}")


if __name__ == "__main__":
    main()
