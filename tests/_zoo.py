"""Small real models built from Hugging Face configs (nothing downloaded), for the model-zoo tests.

Each builder returns ``(model, example_inputs)``: a freshly constructed ``transformers`` model
(random init, eval mode) and a dict of example inputs for its ``forward``. The configs are small
(a few hundred thousand to a few million parameters) so that a test builds one in well under a
second. Pass ``device="meta"`` to build on the meta device (the example inputs stay on the CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

Built = tuple[nn.Module, dict[str, torch.Tensor]]

_VOCAB = 128
_SEQ = 8
_BATCH = 2


def _tokens(seed: int = 0) -> torch.Tensor:
    return torch.randint(0, _VOCAB, (_BATCH, _SEQ), generator=torch.Generator().manual_seed(seed))


def _pixels(channels: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(_BATCH, channels, size, size, generator=torch.Generator().manual_seed(seed))


def gpt2() -> Built:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=_VOCAB, n_positions=32, n_embd=64, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0
    )
    return GPT2LMHeadModel(config), {"input_ids": _tokens()}


def llama() -> Built:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=_VOCAB,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config), {"input_ids": _tokens()}


def bert() -> Built:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=_VOCAB,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=32,
        num_labels=3,
    )
    return BertForSequenceClassification(config), {"input_ids": _tokens()}


def t5() -> Built:
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(
        vocab_size=_VOCAB, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4, decoder_start_token_id=0
    )
    return T5ForConditionalGeneration(config), {"input_ids": _tokens(), "decoder_input_ids": _tokens(1)}


def vit() -> Built:
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        image_size=32,
        patch_size=8,
        num_channels=3,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        num_labels=10,
    )
    return ViTForImageClassification(config), {"pixel_values": _pixels(3, 32)}


def convnext() -> Built:
    from transformers import ConvNextConfig, ConvNextForImageClassification

    config = ConvNextConfig(
        num_channels=3, hidden_sizes=[16, 32], depths=[1, 1], image_size=32, num_labels=10, num_stages=2
    )
    return ConvNextForImageClassification(config), {"pixel_values": _pixels(3, 32)}


def resnet() -> Built:
    from transformers import ResNetConfig, ResNetForImageClassification

    config = ResNetConfig(
        num_channels=3,
        embedding_size=16,
        hidden_sizes=[16, 32],
        depths=[1, 1],
        layer_type="basic",
        num_labels=10,
    )
    return ResNetForImageClassification(config), {"pixel_values": _pixels(3, 32)}


ZOO: dict[str, Callable[[], Built]] = {
    "gpt2": gpt2,
    "llama": llama,
    "bert": bert,
    "t5": t5,
    "vit": vit,
    "convnext": convnext,
    "resnet": resnet,
}


def build(name: str, *, device: str = "cpu", seed: int = 0) -> Built:
    """Build zoo model ``name`` (eval mode) on ``device`` ("cpu" or "meta"); torch's global RNG is
    seeded with ``seed`` first so the model's own random init is reproducible."""
    torch.manual_seed(seed)
    with torch.device(device):
        model, inputs = ZOO[name]()
    model.eval()
    return model, inputs


def zoo_ids() -> list[str]:
    """The zoo's model names, in a fixed order (for ``pytest.mark.parametrize``)."""
    return list(ZOO)


def count_parameters(model: nn.Module) -> int:
    """Number of distinct parameter elements (tied parameters counted once)."""
    return sum(p.numel() for p in model.parameters())


def describe(model: nn.Module) -> dict[str, Any]:
    """A few facts about a built model: class name and parameter count."""
    return {"class": type(model).__name__, "parameters": count_parameters(model)}
