"""Measuring models against what people said: ``trapline eval``, and evaluation sets.

``truth`` reads ground truth (COCO or MegaDetector JSON), ``metrics`` matches predicted boxes
to true ones and counts precision, recall and F1, ``run`` runs a pipeline over a folder of
photos the way a worker does, and ``drawing`` draws both sets of boxes for a person to check.
``sets`` scores a model version against an evaluation set (people's identifications and box
reviews, frozen; ``services/review/evaluation.py``) with the same matching. ``refit`` fits a
classifier head on identified detections' feature vectors, cross-validated by event, and
``heads`` stores and applies it (scikit-learn, imported only when a refit runs); ``reduction``
finds long vectors' main directions. ``groups`` groups the individuals nobody identified by
their vectors, and ``groupings`` is such a grouping as stored.
"""
