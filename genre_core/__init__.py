"""GenreLens core: audio, features, datasets, models and explanations for music-genre classification.

Nothing in this package imports Streamlit. TensorFlow is imported only by the modules that need it
(`models`, `training`, `bundles`, `explain`), so importing `genre_core` itself stays fast.
"""

import os

#: TensorFlow's C++ log: errors only would still print a harmless "NodeDef mentions attribute
#: use_unbounded_threadpool" line on every training whose rows do not fill the last batch, and INFO lines
#: (oneDNN, CPU instructions) on import. Its failures reach Python as exceptions, so level 3 hides only logs;
#: Python warnings are kept. Set before any module imports TensorFlow; a value set by the user wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
