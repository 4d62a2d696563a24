"""Direct chunk decoding in the loader gives exactly what zarr gives."""

from __future__ import annotations

import numpy as np

from cwtmae_cli.data.store.chunks import ChunkReader
from cwtmae_cli.data.store.schema import open_store
from cwtmae_cli.data.store.writer import StoreWriter


def test_direct_reads_equal_zarr_reads_for_every_chunk(tmp_path):
    path = tmp_path / "s.zarr"
    attrs = {"fs_hz": 10.0, "window_s": 3.0, "channels": ["a", "b"], "label_names": []}
    writer = StoreWriter.create(path, n_channels=2, n_samples=30, attrs=attrs, chunk_windows=8)
    rng = np.random.default_rng(0)
    signals = rng.standard_normal((21, 2, 30)).astype(np.float32)  # 3 chunks, the last partial
    signals[8:16] = 0.0  # an all-fill chunk: zarr does not write its file
    info = {"id": "r", "subject": "s", "source_files": [], "dropped": {}}
    writer.append(info, signals, np.zeros(21), np.arange(21) * 3.0, 0)
    array = open_store(path).group["signals"]
    reader = ChunkReader(path / "signals", array)
    assert reader.direct
    assert not (path / "signals" / "c" / "1" / "0" / "0").exists()
    for chunk in range(3):
        for channel in range(2):
            rows = slice(chunk * 8, min(21, (chunk + 1) * 8))
            got = reader.read(chunk, channel)
            assert got.shape == (8, 30) and got.dtype == np.float32
            want = np.asarray(array[rows, channel, :])
            np.testing.assert_array_equal(got[: len(want)], want)
            np.testing.assert_array_equal(want, signals[rows, channel])


def test_other_layouts_fall_back_to_zarr(tmp_path):
    import zarr
    from zarr.codecs import ZstdCodec

    array = zarr.create_array(
        str(tmp_path / "x.zarr"),
        shape=(10, 1, 5),
        chunks=(4, 1, 5),
        dtype="float32",
        compressors=ZstdCodec(),
    )
    array[:] = np.arange(50, dtype=np.float32).reshape(10, 1, 5)
    reader = ChunkReader(tmp_path / "x.zarr", array)
    assert not reader.direct
    np.testing.assert_array_equal(reader.read(2, 0), np.arange(40, 50).reshape(2, 5))
