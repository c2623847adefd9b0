"""GenreLens core: audio, features, datasets, models and explanations for music-genre classification.

Nothing in this package imports Streamlit. TensorFlow is imported only by the modules that need it
(`models`, `training`, `bundles`, `explain`), so importing `genre_core` itself stays fast.
"""

__version__ = "0.1.0"
