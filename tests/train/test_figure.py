"""The pretraining reconstruction figure: its four panels hold the input scalogram, the input with
the masked patches blanked, the reconstruction pasted into them, and the time-domain prediction."""

from __future__ import annotations

import numpy as np
import torch

from cwtmae_cli.model import build_mae, standardize_windows
from cwtmae_cli.train.figure import reconstruction_figure, write_reconstruction_figure


def test_panels_show_input_mask_reconstruction_and_time_signal(tmp_path) -> None:
    torch.manual_seed(0)
    mae = build_mae("tiny")  # 32 scales x 3000 samples, 4 x 30 patches of 8 x 100
    x = standardize_windows(torch.randn(1, 3000).cumsum(dim=1))
    fig = reconstruction_figure(mae, x, fs_hz=100.0, seed=3)
    axes = fig.axes
    assert len(axes) == 4
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)  # the figure's own masking
        parts = mae.forward_with_parts(x)
    imgs = parts["imgs"][0, 0].numpy()  # (32, 3000)
    mask = np.kron(parts["mask"][0].numpy().reshape(4, 30), np.ones((8, 100))) > 0.5
    recon = np.empty((32, 3000), dtype=np.float32)  # patch n = (row n // 30, column n % 30)
    for n, values in enumerate(parts["pred_spec"][0].numpy()):  # values: (3 views, 8, 100)
        r, c = divmod(n, 30)
        recon[8 * r:8 * r + 8, 100 * c:100 * c + 100] = values.reshape(3, 8, 100)[0]
    shown = [np.asarray(ax.images[0].get_array(), dtype=np.float64) for ax in axes[:3]]
    np.testing.assert_allclose(shown[0], imgs, rtol=1e-6)
    assert np.array_equal(np.isnan(shown[1]), mask) and mask.mean() == 0.75  # 90 of 120 masked
    np.testing.assert_allclose(shown[1][~mask], imgs[~mask], rtol=1e-6)
    np.testing.assert_allclose(shown[2], np.where(mask, recon, imgs), rtol=1e-5, atol=1e-6)
    signal_line, prediction_line = axes[3].lines
    np.testing.assert_allclose(signal_line.get_xdata(), np.arange(3000) / 100.0)
    np.testing.assert_allclose(signal_line.get_ydata(), x[0].numpy())
    np.testing.assert_allclose(prediction_line.get_ydata(), parts["pred_time"][0].numpy(),
                               rtol=1e-5, atol=1e-6)
    assert axes[3].get_xlabel() == "time (s)"
    path = write_reconstruction_figure(mae, x, 100.0, tmp_path / "r.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
