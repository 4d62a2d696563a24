"""Readers: one recording file in, one ``Recording`` out.

The contract is ``recording.py``: every reader returns its :class:`Recording` (signal
``(C, n_samples)`` in physical units, ``fs_hz``, channel names, labelled intervals, ids), and
everything after a reader is format-agnostic. ``dispatch.py`` picks the reader by suffix
(``read_recording``, ``open_recording``) and holds the EDF/EDF+/BDF reader (MNE);
``fif_reader.py`` reads MNE's raw ``.fif`` files, ``label_files.py`` the text hypnograms and
CSV label tables paired with a recording; ``wfdb_reader.py`` and ``wfdb_challenge.py`` read WFDB
records; ``channels.py`` matches channel
names to the store's channel slots. A new format: a module here, registered in ``dispatch.py``.
"""

from __future__ import annotations
