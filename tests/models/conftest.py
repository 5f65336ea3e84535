"""Fixtures of the model tests: EKGAN's and Pix2Pix's shared 12-lead data and fitted models."""

from _image_gans import X12, fitted  # noqa: F401 (fixtures; a module's own X12 takes precedence)
