"""Walkthroughs: the well-known course exercises as runnable recipes with explanations, questions and results.

`engine` holds the typed report (steps with explanations, questions to answer and measured facts) and the
registry; each exercise is a module (`course_cnn`, `leakage`) with a frozen result type and ``run(size)``.
`python -m genre_core walkthrough NAME` runs one headless and writes its report (`engine.write_report`).
"""
