"""TF_MAE_Classifier: strict encoder loading, position-embedding interpolation, heads, lr layers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from cwtmae_cli.errors import CheckpointError, ConfigError
from cwtmae_cli.model import CWT_MAE_RoPE, TF_MAE_Classifier, build_mae


@pytest.fixture(scope="module")
def tiny_mae() -> CWT_MAE_RoPE:
    torch.manual_seed(0)
    return build_mae("tiny")  # 3000 samples, grid 4 x 30


def test_loads_a_3000_sample_mae_into_a_1000_sample_classifier(tiny_mae: CWT_MAE_RoPE) -> None:
    state = tiny_mae.state_dict()
    clf = TF_MAE_Classifier(state, num_classes=5, **{**tiny_mae.config, "signal_len": 1000})
    assert clf.encoder.grid_w == 10 and clf.config["signal_len"] == 1000
    assert clf(torch.randn(2, 1000)).shape == (2, 5)
    own = clf.encoder.state_dict()
    for key, value in own.items():
        if key not in ("pos_embed", "grid_size"):
            assert torch.equal(value, state["encoder." + key]), key
    src = state["encoder.pos_embed"]
    assert torch.equal(own["pos_embed"][:, 0], src[:, 0])  # CLS kept
    grid = src[:, 1:].reshape(1, 4, 30, -1).permute(0, 3, 1, 2)  # (1, D, 4, 30)
    expected = F.interpolate(grid, size=(4, 10), mode="bicubic", align_corners=False)
    torch.testing.assert_close(own["pos_embed"][:, 1:], expected.flatten(2).transpose(1, 2))
    assert torch.equal(own["grid_size"], torch.tensor([4, 10]))


def test_interpolates_when_the_scale_count_differs(tiny_mae: CWT_MAE_RoPE) -> None:
    clf = TF_MAE_Classifier(tiny_mae.state_dict(), num_classes=2,
                            **{**tiny_mae.config, "cwt_scales": 48})
    assert clf.encoder.pos_embed.shape == (1, 1 + 6 * 30, 64)
    assert clf(torch.randn(1, 3000)).shape == (1, 2)


def test_same_geometry_loads_every_encoder_weight_unchanged(tiny_mae: CWT_MAE_RoPE) -> None:
    clf = TF_MAE_Classifier(tiny_mae.state_dict(), num_classes=3, **tiny_mae.config)
    for key, value in clf.encoder.state_dict().items():
        assert torch.equal(value, tiny_mae.state_dict()["encoder." + key]), key
    tiny_mae.eval()
    x = torch.randn(2, 3000)
    with torch.no_grad():  # no masking in the classifier: the MAE encoder at ratio 0 agrees
        tokens = tiny_mae.encoder(tiny_mae.encoder.embed(tiny_mae.encoder.images(x)))[:, 1:]
        torch.testing.assert_close(clf.forward_features(x), tokens)


def test_missing_encoder_key_is_named(tiny_mae: CWT_MAE_RoPE) -> None:
    state = dict(tiny_mae.state_dict())
    del state["encoder.blocks.1.attn.qkv.weight"]
    with pytest.raises(CheckpointError, match=r"lack encoder keys encoder\.blocks\.1\.attn\.qkv"):
        TF_MAE_Classifier(state, num_classes=3, **tiny_mae.config)


def test_misshaped_and_unexpected_keys_are_named(tiny_mae: CWT_MAE_RoPE) -> None:
    state = dict(tiny_mae.state_dict())
    state["encoder.norm.weight"] = torch.ones(65)
    shapes = r"encoder\.norm\.weight \(65,\) \(expected \(64,\)\)"
    with pytest.raises(CheckpointError, match=shapes):
        TF_MAE_Classifier(state, num_classes=3, **tiny_mae.config)
    deeper = build_mae("tiny", depth=3).state_dict()
    with pytest.raises(CheckpointError, match=r"encoder\.blocks\.2\."):
        TF_MAE_Classifier(deeper, num_classes=3, **tiny_mae.config)


def test_has_no_decoder_and_no_masking(tiny_mae: CWT_MAE_RoPE) -> None:
    clf = TF_MAE_Classifier(tiny_mae.state_dict(), num_classes=3, **tiny_mae.config)
    names = [n for n, _ in clf.named_parameters()]
    assert not any("decoder" in n or "mask_token" in n or "time_reducer" in n for n in names)
    assert "mask_ratio" not in clf.config and "decoder_depth" not in clf.config
    assert clf.forward_features(torch.randn(2, 3000)).shape == (2, 120, 64)  # all patches, no CLS


@pytest.mark.parametrize("use_cot", [True, False])
def test_both_heads_give_logits_and_train(tiny_mae: CWT_MAE_RoPE, use_cot: bool) -> None:
    torch.manual_seed(0)
    clf = TF_MAE_Classifier(tiny_mae.state_dict(), num_classes=4, use_cot=use_cot,
                            num_reasoning_tokens=3, num_res_blocks=1, hidden_dim=32,
                            **tiny_mae.config)
    logits = clf(torch.randn(3, 3000))
    assert logits.shape == (3, 4)
    tokens = torch.randn(3, 120, 64)
    assert clf.forward_head(tokens).shape == (3, 4)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 3])).backward()
    assert all(p.grad is not None for p in clf.parameters())
    if use_cot:
        assert clf.head.reasoning_tokens.shape == (1, 3, 64)
        assert "head.reasoning_tokens" in clf.no_weight_decay()
    else:
        assert len(clf.head.blocks) == 1 and clf.head.fc_in.out_features == 32


def test_loads_from_a_checkpoint_folder_and_a_safetensors_file(tmp_path: Path,
                                                               tiny_mae: CWT_MAE_RoPE) -> None:
    folder = tmp_path / "step-0000100"
    folder.mkdir()
    save_file(tiny_mae.state_dict(), str(folder / "model.safetensors"))
    (folder / "meta.json").write_text(json.dumps({"kind": "mae", "model_config": tiny_mae.config}))
    clf = TF_MAE_Classifier(folder, num_classes=2)  # encoder arguments from meta.json
    assert clf.config["embed_dim"] == 64 and clf.config["cwt_scales"] == 32
    assert torch.equal(clf.encoder.blocks[0].attn.qkv.weight,
                       tiny_mae.encoder.blocks[0].attn.qkv.weight)
    tuned = tmp_path / "best"  # a fine-tuned classifier's folder also gives its encoder
    tuned.mkdir()
    save_file(clf.state_dict(), str(tuned / "model.safetensors"))
    (tuned / "meta.json").write_text(json.dumps({"kind": "classifier", "model_config": clf.config}))
    again = TF_MAE_Classifier(tuned, num_classes=4, use_cot=False)
    assert torch.equal(again.encoder.pos_embed, clf.encoder.pos_embed)
    loose = tmp_path / "weights.safetensors"
    save_file(tiny_mae.state_dict(), str(loose))
    TF_MAE_Classifier(loose, num_classes=2, **tiny_mae.config)


def test_bad_sources_are_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no model.safetensors in"):
        TF_MAE_Classifier(tmp_path, num_classes=2)
    with pytest.raises(CheckpointError, match="not found"):
        TF_MAE_Classifier(tmp_path / "missing.safetensors", num_classes=2)
    pickle_file = tmp_path / "model.pt"
    pickle_file.write_bytes(b"not weights")
    with pytest.raises(CheckpointError, match="only safetensors"):
        TF_MAE_Classifier(pickle_file, num_classes=2)
    with pytest.raises(ConfigError, match="unknown model argument"):
        TF_MAE_Classifier(None, num_classes=2, embed_dims=64)


def test_rebuilds_from_its_config_and_layer_ids(tiny_mae: CWT_MAE_RoPE) -> None:
    clf = TF_MAE_Classifier(tiny_mae.state_dict(), num_classes=3, **tiny_mae.config)
    rebuilt = TF_MAE_Classifier(None, **json.loads(json.dumps(clf.config)))
    rebuilt.load_state_dict(clf.state_dict(), strict=True)
    assert clf.num_layers == 2 + 2
    assert clf.layer_id("encoder.patch_embed.proj.weight") == 0
    assert clf.layer_id("encoder.cls_token") == clf.layer_id("encoder.pos_embed") == 0
    assert clf.layer_id("encoder.blocks.0.attn.qkv.weight") == 1
    assert clf.layer_id("encoder.blocks.1.mlp.fc2.u.bias") == 2
    assert clf.layer_id("encoder.norm.weight") == clf.layer_id("head.fc.weight") == 3
    assert {clf.layer_id(n) for n, _ in clf.named_parameters()} == {0, 1, 2, 3}


def test_same_patch_count_on_another_grid_is_interpolated_not_copied(tiny_mae: CWT_MAE_RoPE
                                                                      ) -> None:
    """tiny pretrains on a 4 x 30 grid; 64 scales and 1500 samples give 8 x 15, the same 120
    patches: the position embedding must be resized on the grid, not loaded as it is."""
    from cwtmae_cli.model.pretrained import interpolate_pos_embed

    state = tiny_mae.state_dict()
    clf = TF_MAE_Classifier(state, num_classes=2,
                            **{**tiny_mae.config, "signal_len": 1500, "cwt_scales": 64})
    assert (clf.encoder.grid_h, clf.encoder.grid_w) == (8, 15)
    src = state["encoder.pos_embed"]
    assert clf.encoder.pos_embed.shape == src.shape  # same count, so a plain copy would "fit"
    expected = interpolate_pos_embed(src, (4, 30), (8, 15))
    assert torch.equal(clf.encoder.pos_embed.detach(), expected)
    assert not torch.equal(clf.encoder.pos_embed.detach(), src)
    assert torch.equal(clf.encoder.grid_size, torch.tensor([8, 15]))


def test_base_grid_16x60_into_32x30_is_interpolated() -> None:
    """The base geometry (64 scales x 3000 samples, patches 4 x 50) against 128 x 1500: 960
    patches either way."""
    from cwtmae_cli.model.pretrained import interpolate_pos_embed

    small = dict(embed_dim=32, depth=1, num_heads=2)
    torch.manual_seed(0)
    mae = CWT_MAE_RoPE(**small, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2)
    state = mae.state_dict()
    clf = TF_MAE_Classifier(state, num_classes=2, **small, signal_len=1500, cwt_scales=128)
    assert (clf.encoder.grid_h, clf.encoder.grid_w) == (32, 30)
    expected = interpolate_pos_embed(state["encoder.pos_embed"], (16, 60), (32, 30))
    assert torch.equal(clf.encoder.pos_embed.detach(), expected)


def test_checkpoint_whose_meta_gives_another_grid_is_refused(tmp_path: Path,
                                                            tiny_mae: CWT_MAE_RoPE) -> None:
    from cwtmae_cli.runtime.checkpoint import save_checkpoint
    from cwtmae_cli.runtime.loading import load_classifier

    clf = TF_MAE_Classifier(tiny_mae.state_dict(), num_classes=2, **tiny_mae.config)
    other = {**clf.config, "signal_len": 1500, "cwt_scales": 64}  # 8 x 15: also 120 patches
    ckpt = save_checkpoint(tmp_path / "best", clf, {"kind": "classifier", "model_config": other})
    with pytest.raises(CheckpointError, match=r"trained on a 4 x 30 patch grid .* has a 8 x 15 "):
        load_classifier(ckpt)
