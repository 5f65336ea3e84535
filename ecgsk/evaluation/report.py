"""The report object of :mod:`ecgsk.evaluation`: :class:`MetricResult` and :class:`EvaluationReport`.

A report is a list of metrics, each standing next to its floor (real against
real, or a reference model), its trivial baselines and the rule that decides
its verdict.  It renders as a pandas DataFrame, as JSON and as one
self-contained HTML page (verdict table first, then the figures, embedded as
base64 PNG).  matplotlib is not needed here: the figures arrive as PNG bytes.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import math
import numbers
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["MetricResult", "EvaluationReport", "REPORT_KINDS"]

REPORT_KINDS = ("generator", "reconstruction", "risk")


def _clean_number(value):
    """A JSON-safe float (None for None, NaN and inf)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def _clean_interval(interval):
    if interval is None:
        return None
    return tuple(_clean_number(v) for v in interval)


def _jsonable(obj):
    """Make meta dictionaries JSON-safe (NumPy scalars, tuples, paths)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, bool)) or obj is None:
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return _clean_number(obj)
    if hasattr(obj, "tolist"):  # NumPy arrays and scalars
        return _jsonable(obj.tolist())
    return str(obj)


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return "undefined"  # e.g. a distance on a set where the measure is never found (no P wave)
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def _fmt_interval(interval):
    if interval is None:
        return ""
    lo, hi = interval
    return f"[{_fmt(lo)}, {_fmt(hi)}]"


@dataclass
class MetricResult:
    """One metric of an evaluation, with its floor, baselines, rule and verdict.

    Parameters
    ----------
    name : str
        The metric, e.g. ``"mmd2_features"`` or ``"pearson_r[V3]"``.
    value : float or None
        The model's (or synthetic set's) value; None when not applicable.
    interval : tuple of (float, float) or None
        Bootstrap or repeated-split interval of ``value``.
    floor : float or None
        The real-against-real (or reference-model) point value.
    floor_interval : tuple of (float, float) or None
        The floor's interval.
    baselines : dict
        Values of trivial baselines, e.g. ``{"zeros": 0.9, "noise": 0.7}``.
    rule : str
        The readable rule that decides ``passed``, e.g. ``"value <= floor_hi + 0.01"``.
    passed : bool or None
        The verdict; None when not applicable, or for an informational metric
        that has no rule.
    applicable : bool, default=True
        False when the metric does not apply to the inputs (then ``value`` and
        ``passed`` are None and ``reason`` says why).
    reason : str, default=""
        Why the metric does not apply.
    higher_is_better : bool, default=False
    group : str, default=""
        ``"distribution"``, ``"clinical"``, ``"spectrum"``, ``"privacy"``,
        ``"utility"``, ``"amplitude"``, ...

    Examples
    --------
    >>> m = MetricResult("mmd2_features", 0.21, (0.18, 0.25), 0.0, (-0.01, 0.01),
    ...                  {"zeros": 1.3}, "value <= floor_hi + 0.01", False, group="distribution")
    >>> m.passed, m.to_dict()["floor_interval"]
    (False, [-0.01, 0.01])
    """

    name: str
    value: float | None
    interval: tuple | None
    floor: float | None
    floor_interval: tuple | None
    baselines: dict
    rule: str
    passed: bool | None
    applicable: bool = True
    reason: str = ""
    higher_is_better: bool = False
    group: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"MetricResult.name must be a non-empty string; got {self.name!r}")
        for attr in ("interval", "floor_interval"):
            value = getattr(self, attr)
            if value is not None:
                value = tuple(value)
                if len(value) != 2:
                    raise ValueError(f"MetricResult.{attr} of {self.name!r} must be (lo, hi) or None; got {value!r}")
                setattr(self, attr, value)
        if self.baselines is None:
            self.baselines = {}
        if not isinstance(self.baselines, dict):
            raise TypeError(f"MetricResult.baselines of {self.name!r} must be a dict; got {type(self.baselines).__name__}")
        if self.passed is not None:
            self.passed = bool(self.passed)
        if not self.applicable:
            if self.passed is not None:
                raise ValueError(f"metric {self.name!r} is not applicable, so passed must be None")
            if not self.reason:
                raise ValueError(f"metric {self.name!r} is not applicable: give the reason")

    @property
    def verdict(self):
        """``"pass"``, ``"fail"``, ``"n/a"`` (not applicable) or ``"info"`` (no rule)."""
        if not self.applicable:
            return "n/a"
        if self.passed is None:
            return "info"
        return "pass" if self.passed else "fail"

    def to_dict(self):
        """A JSON-safe dict of the fields (NaN and inf become None), plus ``verdict``."""
        out = asdict(self)
        out["value"] = _clean_number(self.value)
        out["floor"] = _clean_number(self.floor)
        out["interval"] = None if self.interval is None else list(_clean_interval(self.interval))
        out["floor_interval"] = None if self.floor_interval is None else list(_clean_interval(self.floor_interval))
        out["baselines"] = {str(k): _clean_number(v) for k, v in self.baselines.items()}
        out["verdict"] = self.verdict
        return out

    @classmethod
    def not_applicable(cls, name, reason, *, group="", higher_is_better=False, rule=""):
        """A metric listed as not applicable, with the reason.

        Parameters
        ----------
        name : str
            Metric name.
        reason : str
            Why the metric does not apply to the inputs.
        group : str, default=""
            The metric's group (``"distribution"``, ``"clinical"``, ...).
        higher_is_better : bool, default=False
            The metric's direction.
        rule : str, default=""
            The rule that would decide ``passed`` were the metric applicable.

        Returns
        -------
        MetricResult
            With ``applicable=False``; ``value`` and ``passed`` are None.

        Examples
        --------
        >>> MetricResult.not_applicable("heart_rate", "single beats have no RR interval").verdict
        'n/a'
        """
        return cls(name, None, None, None, None, {}, rule, None, applicable=False, reason=reason,
                   higher_is_better=higher_is_better, group=group)


class EvaluationReport:
    """The result of an evaluation: metrics next to their floors, a verdict, figures.

    Parameters
    ----------
    kind : {"generator", "reconstruction", "risk"}
    metrics : list of MetricResult
    reference : str, default=""
        Which reference set or floor the verdicts stand on, in words.
    meta : dict, optional
        ``n_real``, ``n_synthetic``, ``fs``, ``random_state``, the ecgsk version, ...
    figures : dict of str to bytes, optional
        Figure title -> PNG bytes (embedded as base64 by :meth:`to_html`).

    Attributes
    ----------
    passed : bool
        The conjunction of the verdicts of the applicable metrics that have a
        rule (informational metrics, ``passed=None``, do not count).  False when
        no metric has a verdict: nothing was shown.
    failed : list of str
        Names of the applicable metrics that failed.

    Examples
    --------
    >>> ok = MetricResult("a", 0.1, None, 0.1, (0.0, 0.2), {}, "value <= floor_hi", True)
    >>> bad = MetricResult("b", 0.9, None, 0.1, (0.0, 0.2), {"zeros": 1.0}, "value <= floor_hi", False)
    >>> na = MetricResult.not_applicable("heart_rate", "single beats")
    >>> report = EvaluationReport("generator", [ok, bad, na], reference="LUDB halves")
    >>> report.passed, report.failed
    (False, ['b'])
    >>> list(report.to_frame()["verdict"])
    ['pass', 'fail', 'n/a']
    """

    def __init__(self, kind, metrics, *, reference="", meta=None, figures=None):
        if kind not in REPORT_KINDS:
            raise ValueError(f"kind must be one of {REPORT_KINDS}; got {kind!r}")
        metrics = list(metrics)
        for m in metrics:
            if not isinstance(m, MetricResult):
                raise TypeError(f"metrics must be MetricResult objects; got {type(m).__name__}")
        names = [m.name for m in metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metric names must be unique; repeated: {dupes}")
        figures = dict(figures or {})
        for title, png in figures.items():
            if not isinstance(png, (bytes, bytearray)):
                raise TypeError(f"figures[{title!r}] must be PNG bytes; got {type(png).__name__}")
        self.kind = kind
        self.metrics = metrics
        self.reference = str(reference)
        self.meta = dict(meta or {})
        self.figures = figures

    # ------------------------------------------------------------------ verdict
    @property
    def passed(self):
        decided = [m.passed for m in self.metrics if m.applicable and m.passed is not None]
        return bool(decided) and all(decided)

    @property
    def failed(self):
        return [m.name for m in self.metrics if m.applicable and m.passed is False]

    def __getitem__(self, name):
        """The :class:`MetricResult` called ``name``."""
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"no metric named {name!r}; the report has {[m.name for m in self.metrics]}")

    def __contains__(self, name):
        return any(m.name == name for m in self.metrics)

    def __repr__(self):
        n_app = sum(m.applicable for m in self.metrics)
        verdict = "passed" if self.passed else f"rejected by {len(self.failed)}"
        return f"EvaluationReport(kind={self.kind!r}, {len(self.metrics)} metrics, {n_app} applicable, {verdict})"

    # ------------------------------------------------------------------ renderings
    def _baseline_keys(self):
        keys = []
        for m in self.metrics:
            keys += [k for k in m.baselines if k not in keys]
        return keys

    def to_frame(self):
        """A pandas DataFrame, one row per metric.

        Columns: ``name``, ``group``, ``value``, ``interval_lo``, ``interval_hi``,
        ``floor``, ``floor_lo``, ``floor_hi``, one ``baseline_<key>`` column per
        baseline, ``rule``, ``higher_is_better``, ``applicable``, ``reason``,
        ``passed`` and ``verdict`` (``pass``/``fail``/``n/a``/``info``).
        """
        import pandas as pd

        keys = self._baseline_keys()
        rows = []
        for m in self.metrics:
            lo, hi = m.interval if m.interval is not None else (None, None)
            flo, fhi = m.floor_interval if m.floor_interval is not None else (None, None)
            row = {"name": m.name, "group": m.group, "value": m.value, "interval_lo": lo, "interval_hi": hi,
                   "floor": m.floor, "floor_lo": flo, "floor_hi": fhi}
            for k in keys:
                row[f"baseline_{k}"] = m.baselines.get(k)
            row.update(rule=m.rule, higher_is_better=m.higher_is_better, applicable=m.applicable,
                       reason=m.reason, passed=m.passed, verdict=m.verdict)
            rows.append(row)
        columns = (["name", "group", "value", "interval_lo", "interval_hi", "floor", "floor_lo", "floor_hi"]
                   + [f"baseline_{k}" for k in keys]
                   + ["rule", "higher_is_better", "applicable", "reason", "passed", "verdict"])
        frame = pd.DataFrame(rows, columns=columns)
        numeric = ["value", "interval_lo", "interval_hi", "floor", "floor_lo", "floor_hi"] + [f"baseline_{k}" for k in keys]
        frame[numeric] = frame[numeric].astype(float)
        return frame

    def to_dict(self):
        """A JSON-safe dict: kind, reference, passed, failed, meta, metrics and the figure titles."""
        return {
            "kind": self.kind,
            "reference": self.reference,
            "passed": self.passed,
            "failed": self.failed,
            "meta": _jsonable(self.meta),
            "metrics": [m.to_dict() for m in self.metrics],
            "figures": list(self.figures),
        }

    def to_json(self, path=None, *, indent=2):
        """The report as JSON (figures by title only); also written to ``path`` when given.

        Parameters
        ----------
        path : str or path-like, optional
        indent : int, default=2

        Returns
        -------
        str
        """
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data, *, figures=None):
        """Rebuild a report from :meth:`to_dict` / :meth:`to_json` output (figures are not in the JSON).

        Parameters
        ----------
        data : dict
            As :meth:`to_dict` returns it (or ``json.loads`` of :meth:`to_json`).
        figures : dict of str to bytes, optional
            Figure title -> PNG bytes to attach again.

        Returns
        -------
        EvaluationReport

        Raises
        ------
        ValueError
            When ``data`` is not a dict with ``kind`` and ``metrics``.

        Examples
        --------
        >>> import json
        >>> r = EvaluationReport("risk", [MetricResult("c_index", 0.7, None, 0.6, (0.55, 0.65), {}, "value >= floor_lo", True)])
        >>> EvaluationReport.from_dict(json.loads(r.to_json())).passed
        True
        """
        if not isinstance(data, dict) or "kind" not in data or "metrics" not in data:
            raise ValueError("data must be a dict with 'kind' and 'metrics', as written by EvaluationReport.to_dict")
        fields = {f for f in MetricResult.__dataclass_fields__}
        metrics = []
        for entry in data["metrics"]:
            kwargs = {k: v for k, v in entry.items() if k in fields}
            for k in ("interval", "floor_interval"):
                if kwargs.get(k) is not None:
                    kwargs[k] = tuple(kwargs[k])
            metrics.append(MetricResult(**kwargs))
        return cls(data["kind"], metrics, reference=data.get("reference", ""), meta=data.get("meta"),
                   figures=figures)

    def _table_html(self):
        keys = self._baseline_keys()
        head = ["metric", "group", "value", "interval", "floor", "floor interval"]
        head += [f"baseline: {k}" for k in keys] + ["rule", "verdict"]
        out = ['<table id="verdict-table" class="verdicts">', "<thead><tr>"]
        out += [f"<th>{html.escape(h)}</th>" for h in head]
        out.append("</tr></thead><tbody>")
        for m in self.metrics:
            better = "higher is better" if m.higher_is_better else "lower is better"
            cells = [f'<td class="name" title="{html.escape(better)}">{html.escape(m.name)}</td>',
                     f"<td>{html.escape(m.group)}</td>"]
            if m.applicable:
                cells += [f"<td>{_fmt(m.value)}</td>", f"<td>{_fmt_interval(m.interval)}</td>",
                          f"<td>{_fmt(m.floor)}</td>", f"<td>{_fmt_interval(m.floor_interval)}</td>"]
                cells += [f"<td>{_fmt(m.baselines.get(k))}</td>" for k in keys]
                cells.append(f"<td class='rule'>{html.escape(m.rule)}</td>")
            else:
                span = 5 + len(keys)
                cells.append(f"<td colspan='{span}' class='reason'>not applicable: {html.escape(m.reason)}</td>")
            cells.append(f"<td class='verdict {m.verdict.replace('/', '')}'>{m.verdict}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
        return "\n".join(out)

    def to_html(self, path):
        """Write one self-contained HTML page: the verdict table at the top, then the figures.

        Images are embedded as base64 PNG, so the file needs nothing else.
        Without figures (matplotlib missing) the page says so.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        path = Path(path)
        if self.passed:
            banner = "<p class='overall pass'>Verdict: <b>passed</b> &mdash; every applicable metric lies within its floor's tolerance.</p>"
        else:
            failed = ", ".join(html.escape(n) for n in self.failed) or "no metric has a verdict"
            banner = f"<p class='overall fail'>Verdict: <b>rejected</b> &mdash; failed: {failed}</p>"
        meta_items = "".join(
            f"<li><b>{html.escape(str(k))}</b>: {html.escape(_fmt(v) if not isinstance(v, (dict, list)) else json.dumps(_jsonable(v)))}</li>"
            for k, v in self.meta.items()
        )
        if self.figures:
            figs = "\n".join(
                f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{base64.b64encode(bytes(png)).decode('ascii')}'>"
                f"<figcaption>{html.escape(title)}</figcaption></figure>"
                for title, png in self.figures.items()
            )
        elif importlib.util.find_spec("matplotlib") is None:
            figs = "<p class='note'>Figures need matplotlib: <code>pip install ecgsk[plot]</code>.</p>"
        else:
            figs = "<p class='note'>This report has no figures.</p>"
        title = f"ecgsk {self.kind} evaluation"
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; }}
h1 {{ font-size: 1.3em; margin: 0.2em 0; }}
.overall {{ font-size: 1.1em; margin: 0.3em 0; }}
.overall.pass {{ color: #176f2c; }} .overall.fail {{ color: #a31515; }}
table.verdicts {{ border-collapse: collapse; font-size: 0.85em; }}
table.verdicts th, table.verdicts td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
table.verdicts td.name, table.verdicts td.rule, table.verdicts td.reason {{ text-align: left; }}
td.verdict.pass {{ background: #d9f2dd; }} td.verdict.fail {{ background: #f8d7d7; font-weight: bold; }}
td.verdict.na, td.reason {{ color: #777; }}
figure {{ display: inline-block; margin: 0.5em; vertical-align: top; }}
figure img {{ max-width: 100%; }}
.meta {{ font-size: 0.8em; color: #555; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
{banner}
<p class="reference">Reference: {html.escape(self.reference or "not stated")}</p>
{self._table_html()}
<h2>Figures</h2>
{figs}
<h2>Details</h2>
<ul class="meta">{meta_items}</ul>
</body></html>
"""
        path.write_text(page, encoding="utf-8")
        return path

    def _repr_html_(self):  # Jupyter
        return self._table_html()
