"""Several channels per window: scalogram layout, widened pretrained kernel, MAE heads."""

from __future__ import annotations

import pytest
import torch

from cwtmae_cli.errors import CheckpointError, ConfigError
from cwtmae_cli.model import CWT_MAE_RoPE, TF_MAE_Classifier, build_mae
from cwtmae_cli.model.pretrained import widen_patch_kernel

SMALL = {"signal_len": 400, "cwt_scales": 16, "patch_size_time": 40, "patch_size_freq": 4,
         "embed_dim": 32, "depth": 1, "num_heads": 2, "decoder_embed_dim": 32,
         "decoder_depth": 1, "decoder_num_heads": 2}


@pytest.fixture(scope="module")
def single_mae() -> CWT_MAE_RoPE:
    torch.manual_seed(0)
    return build_mae("tiny", **SMALL)


def test_each_channel_has_its_own_three_planes_in_channel_order() -> None:
    torch.manual_seed(1)
    enc = TF_MAE_Classifier(None, 2, in_channels=3, **SMALL).encoder
    one = TF_MAE_Classifier(None, 2, **SMALL).encoder
    x = torch.randn(2, 3, 400) * torch.tensor([1.0, 5.0, 0.1])[:, None]
    imgs = enc.images(x)
    assert imgs.shape == (2, 9, 16, 400)
    for c in range(3):
        torch.testing.assert_close(imgs[:, 3 * c:3 * c + 3], one.images(x[:, c]))


def test_a_single_channel_encoder_gives_the_same_tokens_on_repeated_channels(
        single_mae: CWT_MAE_RoPE) -> None:
    state = single_mae.state_dict()
    one = TF_MAE_Classifier(state, 3, **single_mae.config).eval()
    two = TF_MAE_Classifier(state, 3, **{**single_mae.config, "in_channels": 2}).eval()
    assert two.encoder.patch_embed.proj.weight.shape[1] == 6
    x = torch.randn(3, 400)
    with torch.no_grad():
        torch.testing.assert_close(two.forward_features(torch.stack([x, x], dim=1)),
                                   one.forward_features(x), atol=1e-5, rtol=1e-4)


def test_the_widened_kernel_is_the_kernel_repeated_and_divided() -> None:
    weight = torch.randn(8, 3, 2, 5)
    wide = widen_patch_kernel(weight, 4)
    assert wide.shape == (8, 12, 2, 5)
    for c in range(4):
        torch.testing.assert_close(wide[:, 3 * c:3 * c + 3], weight / 4)


def test_a_multi_channel_encoder_does_not_load_into_another_channel_count(
        single_mae: CWT_MAE_RoPE) -> None:
    state = CWT_MAE_RoPE(**{**single_mae.config, "in_channels": 2}).state_dict()
    with pytest.raises(CheckpointError, match="read 2 channels per window but this model reads 3"):
        TF_MAE_Classifier(state, 3, **{**single_mae.config, "in_channels": 3})


def test_windows_with_the_wrong_channel_count_are_refused() -> None:
    enc = TF_MAE_Classifier(None, 2, in_channels=2, **SMALL).encoder
    for shape in ((2, 400), (2, 1, 400), (2, 3, 400)):
        with pytest.raises(ConfigError, match=r"must be \(B, 2, 400\)"):
            enc.images(torch.randn(*shape))
    with pytest.raises(ConfigError, match="in_channels must be a positive integer"):
        TF_MAE_Classifier(None, 2, in_channels=0, **SMALL)


def test_the_mae_reconstructs_every_channel() -> None:
    torch.manual_seed(2)
    mae = CWT_MAE_RoPE(**{**SMALL, "in_channels": 2})
    x = torch.randn(2, 2, 400)
    parts = mae.forward_with_parts(x)
    assert parts["pred_spec"].shape == (2, 40, 6 * 4 * 40)
    assert parts["pred_time"].shape == (2, 2, 400)
    assert parts["imgs"].shape == (2, 6, 16, 400)
    # the time head's second block of pt outputs is channel 1's: silenced, channel 1 reads 0
    with torch.no_grad():
        mae.decoder_pred_time.weight[40:] = 0
        mae.decoder_pred_time.bias[40:] = 0
        pred_time = mae.forward_with_parts(x)["pred_time"]
    assert torch.count_nonzero(pred_time[:, 1]) == 0
    assert torch.count_nonzero(pred_time[:, 0]) == pred_time[:, 0].numel()


def test_the_time_loss_compares_each_channel_with_itself() -> None:
    mae = CWT_MAE_RoPE(**{**SMALL, "in_channels": 2})
    x = torch.randn(3, 2, 400) * torch.tensor([1.0, 30.0])[:, None] + 7.0
    z = (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, correction=0)
    assert mae.forward_loss_time(x, z).item() < 1e-10
    assert mae.forward_loss_time(x, z.flip(1)).item() > 1.0
