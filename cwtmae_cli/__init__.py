"""cwtmae: from raw sleep-EEG and ECG recordings to a trained CWT-MAE-RoPE classifier.

The import package is ``cwtmae_cli``; the library lives in its sub-packages (``model``, ``data``,
``train``, ``evaluate``) and the command line in ``cli``. Importing this package is cheap: it pulls
in neither torch nor mne.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
