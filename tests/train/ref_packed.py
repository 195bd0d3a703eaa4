"""Reference for packed training rows: the documents of a packed row, each run ALONE through the independent
PyTorch reference in float64, their next-token cross-entropies summed and divided by the total target count (what a
packed row with document boundaries must equal), and the gradients of that loss written under the checkpoint's names.

usage: ref_packed.py REF_TOOL MODEL_DIR DOCS.json OUT.safetensors   (DOCS.json: a list of token-id lists)
"""
import importlib.util
import json
import sys

import torch
import torch.nn.functional as F


def main():
    ref_path, model_dir, docs_path, out = sys.argv[1:5]
    spec = importlib.util.spec_from_file_location("ref", ref_path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    torch.set_num_threads(1)
    model, plan, _ = ref.load_model(model_dir, torch.float64)
    docs = json.load(open(docs_path))
    model.zero_grad(set_to_none=True)
    total = sum(len(d) - 1 for d in docs)
    loss = 0.0
    for d in docs:
        ids = torch.tensor([d], dtype=torch.int64)
        logits = model(ids)
        V = logits.shape[-1]
        ce = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), reduction="sum") / total
        ce.backward()
        loss += ce.item()
    grads = {n: p.grad for n, p in model.named_parameters()}
    ref.write_safetensors(out, ref.export_with_plan(plan, grads), dtype=torch.float32)
    print(f"loss {loss!r}")


if __name__ == "__main__":
    main()
