"""Fine-tuning a pre-trained GPT: classification heads, freezing, LoRA, and SFT with loss masking.

Read in this order: ``data`` (texts → padded batches; SFT sequences with -100 on the prompt),
``classifier`` (a head on pooled hidden states; what trains), ``lora`` (low-rank adapters),
``classification`` (training a classifier), ``sft`` (fine-tuning the language model itself to
write the answer). Both loops call the one ``training.step.train_step``.
"""

from .classification import FinetuneConfig, predict, train_classifier
from .classifier import METHODS, GPTClassifier, set_trainable
from .lora import LoRALinear, apply_lora, load_lora_state_dict, lora_state_dict, merge_lora, unmerge_lora
from .sft import sft

__all__ = [
    "METHODS", "FinetuneConfig", "GPTClassifier", "LoRALinear", "apply_lora", "load_lora_state_dict", "lora_state_dict",
    "merge_lora", "predict", "set_trainable", "sft", "train_classifier", "unmerge_lora",
]
