"""Measuring a detection pipeline against boxes a person drew: ``trapline eval``.

``truth`` reads ground truth (COCO or MegaDetector JSON), ``metrics`` matches predicted boxes
to true ones and counts precision, recall and F1, ``run`` runs a pipeline over a folder of
photos the way a worker does, and ``drawing`` draws both sets of boxes for a person to check.
"""
