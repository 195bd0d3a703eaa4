"""Float64 reference for multiple-choice scoring, built on the independent PyTorch reference model.

usage: ref_mc.py REF_TOOL MODEL_DIR ITEMS.jsonl OUT.jsonl
  ITEMS rows are pre-tokenized: {"context_ids": [...], "choice_ids": [[...], ...], "answer": i}.
  OUT gets one line per item: {"logps": [Σ ln p(choice | context) for each choice]}.
Each (context, choice) sequence runs alone, so nothing here depends on packing.
"""
import importlib.util
import json
import sys

import torch
import torch.nn.functional as F


def main():
    ref_path, model_dir, items_path, out_path = sys.argv[1:5]
    spec = importlib.util.spec_from_file_location("ref", ref_path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    torch.set_num_threads(1)
    model, _, _ = ref.load_model(model_dir, torch.float64)
    with torch.no_grad(), open(items_path) as f, open(out_path, "w") as out:
        for line in f:
            if not line.strip():
                continue
            item = json.loads(line)
            ctx = item["context_ids"]
            logps = []
            for choice in item["choice_ids"]:
                ids = torch.tensor([ctx + choice], dtype=torch.int64)
                lp = F.log_softmax(model(ids)[0], dim=-1)
                # token ctx+j is predicted at position len(ctx)+j-1
                logps.append(sum(lp[len(ctx) + j - 1, t].item() for j, t in enumerate(choice)))
            out.write(json.dumps({"logps": logps}) + "\n")


if __name__ == "__main__":
    main()
