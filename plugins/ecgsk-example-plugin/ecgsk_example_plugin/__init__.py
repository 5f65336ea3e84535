"""ecgsk-example-plugin: an example third-party ecgsk model package.

It registers one model, ``beat_template``
(:class:`~ecgsk_example_plugin.beat_template.BeatTemplateGenerator`), in the
``ecgsk.models`` entry-point group, so after ``pip install`` it shows up in
``ecgsk.list_models()``.  Its R peaks and filters are ecgsk's own
(:func:`ecgsk.preprocessing.detect_rpeaks`, :class:`ecgsk.preprocessing.BandpassFilter`).

Examples
--------
>>> from ecgsk_example_plugin import BeatTemplateGenerator
>>> BeatTemplateGenerator().n_components
5
"""

from .beat_template import BeatTemplateGenerator

__all__ = ["BeatTemplateGenerator"]
__version__ = "0.1.0"
