"""Walkthroughs: the well-known course exercises as runnable recipes with explanations, questions and results.

`engine` holds the typed report (steps with explanations, questions to answer and measured facts) and the
registry; each exercise is a module (`course_cnn`, `time_freq`, `ffn_summary`, `leakage`, `pretrained`) with a
frozen result type (its report and figures) and ``run(size, progress)``; `RealData` runs 3 and 5 on real data.
`python -m genre_core walkthrough NAME` runs one headless and writes its report (`engine.write_report`).
"""
