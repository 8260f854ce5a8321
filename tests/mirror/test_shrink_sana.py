"""Shrinking SANA's real configs: its autoencoder's levels, its transformer's cross-attention heads and Gemma 2's
grouped key/value heads shrink with the widths they must divide."""

from genart_demo.hubfacts import repo_facts
from genart_demo.mirror_shrink import shrink_config

SANA = "Efficient-Large-Model/Sana_600M_512px_diffusers"


def test_dc_autoencoder_keeps_its_levels_and_latents():
    real = repo_facts(SANA).json("vae/config.json")
    tiny = shrink_config("AutoencoderDC", real)
    for side in ("encoder", "decoder"):
        assert tiny[f"{side}_block_out_channels"] == [8, 16, 32, 32, 32, 32]  # 6 levels: the 32x compression stays
        assert tiny[f"{side}_layers_per_block"] == [1] * 6
        assert tiny[f"{side}_block_types"] == real[f"{side}_block_types"]
    assert tiny["attention_head_dim"] == 8 and 32 % tiny["attention_head_dim"] == 0  # divides the ViT levels
    assert (tiny["latent_channels"], tiny["scaling_factor"]) == (32, 0.41407)


def test_sana_cross_attention_heads_follow_the_inner_width():
    tiny = shrink_config("SanaTransformer2DModel", repo_facts(SANA).json("transformer/config.json"))
    assert tiny["num_cross_attention_heads"] * tiny["cross_attention_head_dim"] == tiny["cross_attention_dim"] == 16
    assert tiny["num_attention_heads"] * tiny["attention_head_dim"] == 16
    assert tiny["caption_channels"] == 2304 // 64  # Gemma 2's hidden size, shrunk the same way


def test_gemma2_key_value_heads_divide_its_heads():
    real = repo_facts(SANA).json("text_encoder/config.json")
    tiny = shrink_config("Gemma2Model", real, {"vocab_size": 420, "bos_token_id": 2, "eos_token_id": 1})
    assert (tiny["hidden_size"], tiny["intermediate_size"], tiny["head_dim"]) == (36, 144, 8)
    assert tiny["num_attention_heads"] == 4 and tiny["num_attention_heads"] % tiny["num_key_value_heads"] == 0
    odd = shrink_config("Gemma2Model", {**real, "num_attention_heads": 8, "num_key_value_heads": 8})
    assert odd["num_key_value_heads"] == odd["num_attention_heads"] == 4  # never more key/value heads than heads
