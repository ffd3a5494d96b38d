"""Fine-tuning a pre-trained GPT: classification heads, freezing, LoRA, and SFT with loss masking.

Read in this order: ``data`` (texts → padded batches; SFT sequences with -100 on the prompt),
``classifier`` (a head on pooled hidden states; what trains), ``lora`` (low-rank adapters),
``train`` (the classification loop), ``sft`` (fine-tuning the language model itself).
"""

from .classifier import METHODS, GPTClassifier, set_trainable
from .lora import LoRALinear, apply_lora, load_lora_state_dict, lora_state_dict, merge_lora, unmerge_lora
from .train import FinetuneConfig, finetune, predict

__all__ = [
    "METHODS", "FinetuneConfig", "GPTClassifier", "LoRALinear", "apply_lora", "finetune", "load_lora_state_dict",
    "lora_state_dict", "merge_lora", "predict", "set_trainable", "unmerge_lora",
]
