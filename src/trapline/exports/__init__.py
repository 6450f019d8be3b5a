"""Standard exports of a project's images and results, one streaming writer per format, and
the MegaDetector import."""
