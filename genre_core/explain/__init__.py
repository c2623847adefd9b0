"""Explanations of trained classifiers.

Submodules (import them directly; importing this package does not import TensorFlow):
  - `genre_core.explain.gradcam`: Grad-CAM, Grad-CAM++ and gradient saliency maps of spectrogram CNNs,
    frequency-band and time profiles of a map.
  - `genre_core.explain.trust`: measured checks of the maps (model-randomisation test, deletion curve)
    and listening to the highlighted part of a spectrogram (resynthesis).
  - `genre_core.explain.shap_values`: SHAP values of the summary-feature classifiers.
  - `genre_core.explain.examples`: right and wrong examples of each class for browsing.
"""
