"""Hugging Face's formats: GPT-2 checkpoints in and out, tokenizers, PEFT LoRA adapters.

    from tinygrad_ft import hf
    model, tokenizer = hf.from_pretrained("gpt2/")         # a downloaded GPT-2 folder (no torch)
    hf.save_pretrained(model, tokenizer, "out/")            # GPT2LMHeadModel / AutoTokenizer load it
    hf.save_peft_adapter(model_with_lora, "out/adapter")    # PeftModel.from_pretrained loads it

Files: ``gpt2`` (config.json and model.safetensors <-> our GPT; the ``import-hf`` and
``export`` commands), ``tokenizer`` (tokenizer.json, or vocab.json + merges.txt <-> our
tokenizers), ``peft`` (LoRA adapters, merged or in PEFT's format).

This layer sits above ``models`` and ``finetune``, so ``GPT`` itself has no
``from_pretrained``: it is ``tinygrad_ft.hf.from_pretrained``.
"""

from .gpt2 import (
    ExportConfig,
    HFFormatError,
    ImportConfig,
    export_checkpoint,
    from_pretrained,
    gpt_config_from_hf,
    gpt_config_to_hf,
    hf_name,
    import_hf,
    our_name,
    read_hf_config,
    read_safetensors,
    save_pretrained,
    state_from_hf,
    state_to_hf,
)
from .peft import base_state_dict, load_classifier, load_peft_adapter, merged_state_dict, save_peft_adapter
from .tokenizer import load_hf_tokenizer, save_hf_tokenizer

__all__ = [
    "ExportConfig", "HFFormatError", "ImportConfig", "base_state_dict", "export_checkpoint", "from_pretrained",
    "gpt_config_from_hf", "gpt_config_to_hf", "hf_name", "import_hf", "load_classifier", "load_hf_tokenizer",
    "load_peft_adapter", "merged_state_dict", "our_name", "read_hf_config", "read_safetensors", "save_hf_tokenizer",
    "save_peft_adapter", "save_pretrained", "state_from_hf", "state_to_hf",
]
