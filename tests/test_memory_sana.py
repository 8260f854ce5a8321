"""SANA's memory plan: built from its real configs on the meta device, with its 32x autoencoder (no
block_out_channels, no out_channels, tiles given by a stride) and its Gemma 2 text encoder read at the token budget."""

from genart_demo.memory import plan_memory
from genart_demo.registry import Registry

GIB = 2**30


def test_sana_plan_counts_the_hub_sized_weights_and_traces_its_encoder_and_decoder():
    plan = plan_memory(Registry.load().get("sana-600m-512"), 24)
    params = {c.name: c.params for c in plan.components}
    # 2.61 B Gemma 2 (5.23 GB in 16 bits: the Hub's two text_encoder shards), 0.59 B transformer, 0.31 B DC-AE
    # (1.25 GB in fp32: the Hub's vae file)
    assert params == {"text_encoder": 2_614_341_888, "transformer": 591_747_872, "vae": 312_250_275}
    stages = {s.name: s for s in plan.stages}
    assert stages["decode"].traced and stages["encode:text_encoder"].traced
    # Gemma 2 reads the 300-token budget, not its 8192-position table (which traced 6.3 GiB)
    assert stages["encode:text_encoder"].act() < 0.1 * GIB
    assert plan.peak_bytes < 8.5 * GIB
