"""The evaluation report: a JSON-able dict built from an
:class:`~posekit.qa.cocoeval.ArrayEval`, and its Markdown rendering (tables
and small inline SVG bar charts) for the operator's output and the panel.
"""
import numpy as np

from posekit.qa import errors as qe
from posekit.qa.cocoeval import reevaluate
from posekit.markdown import md_escape
from posekit.qa.oks import EPS

OKS_BINS = np.linspace(0, 1, 11)


def _keypoint_labels(sk, k):
    if sk is not None and len(sk.labels) == k:
        return list(sk.labels)
    return [f"point {i + 1}" for i in range(k)]


def build_report(ev, sigmas, sk, names, iou=0.5, errors=True):
    """Summary numbers, per-category AP, counts, per-keypoint accuracy, OKS
    histogram and (``errors``) the error mining, as plain data."""
    gt, dt, m = ev.gt, ev.dt, ev.matches
    K = gt.num_keypoints
    labels = _keypoint_labels(sk, K)
    t = int(np.argmin(np.abs(ev.iou_thrs - iou)))
    prec = ev.eval["precision"][:, :, :, 0, -1]
    per_cat = {}
    for k, c in enumerate(ev.cat_ids):
        p = prec[:, :, k]
        per_cat[names.get(c, str(c))] = float(p[p > -1].mean()) if (p > -1).any() else None
    g = m.dt_gt[0, t]
    ign = m.dt_ignore[0, t]
    tp_rows = m.dt_rows[(g >= 0) & ~ign]
    tp_gt = g[(g >= 0) & ~ign]
    n_tp = len(tp_rows)
    n_fp = int(((g < 0) & ~ign).sum())
    n_fn = int((~m.gt_ignore[0] & (m.gt_dt[0, t] < 0)).sum())
    per_kp = _per_keypoint(gt, dt, tp_rows, tp_gt, sigmas, labels)
    best = m.dt_oks[m.dt_best >= 0]
    hist = np.histogram(best, bins=OKS_BINS)[0].tolist()
    report = {
        "stats": dict(ev.stats), "per_category_ap": per_cat,
        "iou": float(iou), "counts": {"tp": n_tp, "fp": n_fp, "fn": n_fn},
        "n_gt": int(len(gt)), "n_pred": int(len(dt)),
        "keypoints": labels, "per_keypoint": per_kp,
        "oks_histogram": {"bins": OKS_BINS.tolist(), "counts": hist},
    }
    if errors:
        report["errors"] = mine_errors(ev, sigmas, sk, labels)
    return report


def _per_keypoint(gt, dt, tp_rows, tp_gt, sigmas, labels):
    """Per keypoint over the true positives: count, mean keypoint similarity
    and median distance / sqrt(area) (its temporaries freed on return)."""
    var = (2 * np.asarray(sigmas, dtype=float)) ** 2
    vis = gt.vis[tp_gt]
    area = gt.area[tp_gt][:, None]
    d2 = ((dt.xy[tp_rows] - gt.xy[tp_gt]) ** 2).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ks = np.where(vis, np.exp(-d2 / var / (area + EPS) / 2), np.nan)
        nd = np.where(vis, np.sqrt(d2) / np.sqrt(area + EPS), np.nan)
    ks = np.where(np.isnan(ks) & vis, 0.0, ks)
    per_kp = []
    for j, lb in enumerate(labels):
        n = int(vis[:, j].sum())
        per_kp.append({
            "keypoint": lb, "sigma": float(sigmas[j]), "n": n,
            "mean_ks": float(np.nanmean(ks[:, j])) if n else None,
            "median_error": float(np.nanmedian(nd[:, j])) if n else None,
        })
    return per_kp


def mine_errors(ev, sigmas, sk, labels):
    """Error classes, counts, fixed-class AP and PCK, as plain data."""
    gt, dt = ev.gt, ev.dt
    flip = qe.flip_index(labels, sk.flip_pairs if sk is not None else None)
    d_rows, g_rows, cls = qe.classify(gt, dt, sigmas, flip)
    out = qe.counts(cls, labels)

    def ap(rows, xy):  # AP alone: the "all" area range, and only the
        return reevaluate(ev, rows, xy)  # images the fix changed, if few

    fixed = qe.fixed_ap(gt, dt, d_rows, g_rows, cls, ap)
    base = ev.stats["AP"]
    out["fixed_ap"] = {c: {"AP": v, "gain": v - base} for c, v in fixed.items()}
    out["pck"] = qe.pck(gt, dt, d_rows, g_rows, torso=qe.torso_pair(labels))
    out["_rows"] = (d_rows, g_rows, cls)
    return out


def _fmt(v, digits=3):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _plain(text):
    return str(text)


def _table(header, rows, esc=md_escape):
    """A Markdown table; text cells escaped, numbers formatted."""
    def cell(v):
        return esc(v) if isinstance(v, str) else _fmt(v)

    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join(cell(v) for v in r) + " |")
    return "\n".join(lines)


def bar_svg(values, labels, width=420, bar=14, color="#e8772e", vmax=None):
    """A horizontal bar chart as an inline SVG string (labels left)."""
    from xml.sax.saxutils import escape

    vals = [0.0 if v is None else float(v) for v in values]
    vmax = vmax or max([abs(v) for v in vals] + [1e-9])
    h = bar * len(vals) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{h}" font-family="sans-serif" font-size="10">']
    for i, (v, lb) in enumerate(zip(vals, labels)):
        y = 2 + i * bar
        w = max(0.0, (width - 170) * abs(v) / vmax)
        parts.append(f'<text x="0" y="{y + bar - 4}">{escape(str(lb))}</text>')
        parts.append(f'<rect x="120" y="{y + 1}" width="{w:.1f}" '
                     f'height="{bar - 3}" fill="{color}"/>')
        parts.append(f'<text x="{124 + w:.1f}" y="{y + bar - 4}">{v:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_image(svg, alt):
    """An SVG as a Markdown image (data URI), as the App renders it."""
    import base64

    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"![{md_escape(alt)}](data:image/svg+xml;base64,{data})"


def to_markdown(report, plots=True, plain=False, compact=False):
    """The report as Markdown: summary, per-keypoint table, error classes
    (``plain``: text left unescaped, for a terminal). ``compact`` (a narrow
    panel): the metrics as one column, per keypoint as a chart only, headings
    a level lower."""
    esc = _plain if plain else md_escape
    s = report["stats"]
    metrics = (_table(["metric", "value"], list(s.items()), esc) if compact
               else _table(list(s), [list(s.values())], esc))
    out = ["### COCO keypoint metrics (pycocotools-exact)", metrics,
           f"At OKS {report['iou']:.2f}: {report['counts']['tp']} tp, "
           f"{report['counts']['fp']} fp, {report['counts']['fn']} fn "
           f"({report['n_gt']} ground truth, {report['n_pred']} predictions). "
           f"Sigmas: {report.get('sigmas_source', 'given')}."]
    if len(report["per_category_ap"]) > 1:
        out += ["#### AP per category", _table(
            ["category", "AP"], list(report["per_category_ap"].items()), esc)]
    pk = report["per_keypoint"]
    err = report.get("errors")
    header = ["keypoint", "sigma", "n", "mean ks", "median d/√area"]
    rows = [[r["keypoint"], r["sigma"], r["n"], r["mean_ks"], r["median_error"]]
            for r in pk]
    if err:
        header += qe.ERRORS
        for row, e in zip(rows, err["per_keypoint"]):
            row += [e[c] for c in qe.ERRORS]
    if not compact:
        out += ["#### Per keypoint", _table(header, rows, esc)]
    if err:
        fx = err["fixed_ap"]
        out += ["#### Error classes (Ronchi & Perona)", _table(
            ["class", "keypoints", "AP if fixed", "AP gain"],
            [[c, err["per_class"][c], fx.get(c, {}).get("AP"),
              fx.get(c, {}).get("gain")] for c in qe.CLASSES], esc)]
        pck = err["pck"]
        out.append(f"PCK ({pck['normaliser']}): " + ", ".join(
            f"@{a}: {v:.3f}" for a, v in pck["alpha"].items()))
    if plots:
        out += ["#### Mean keypoint similarity", svg_image(bar_svg(
            [r["mean_ks"] for r in pk], [r["keypoint"] for r in pk], vmax=1.0),
            "mean keypoint similarity per keypoint")]
        h = report["oks_histogram"]
        bins = h["bins"]
        out += ["#### OKS of each prediction with its best ground truth",
                svg_image(bar_svg(h["counts"], [
                    f"{bins[i]:.1f}–{bins[i + 1]:.1f}"
                    for i in range(len(h["counts"]))], color="#3b7dd8"),
                    "OKS histogram")]
        if err and err["fixed_ap"]:
            out += ["#### AP gain if each error class were fixed",
                    svg_image(bar_svg(
                        [v["gain"] for v in err["fixed_ap"].values()],
                        list(err["fixed_ap"]), color="#2e9e5b"),
                        "AP gain per fixed error class")]
    if compact:
        out = ["##" + part if part.startswith("#") else part for part in out]
    return "\n\n".join(out)


def agreement_markdown(rep):
    """An annotation comparison (:func:`posekit.qa.compare.compare_fields`)
    as Markdown."""
    a, b = rep["fields"]
    q = rep["oks_quantiles"]
    out = [f"### Agreement of '{md_escape(a)}' and '{md_escape(b)}'",
           f"{rep['pairs']} paired instances, {rep['only_first']} only in "
           f"'{md_escape(a)}', {rep['only_second']} only in '{md_escape(b)}'. "
           f"Mean inter-annotator OKS {_fmt(rep['mean_oks'])} (sigmas: "
           f"{rep['sigmas_source']}); quantiles " + ", ".join(
               f"{k}: {v:.3f}" for k, v in q.items())]
    rows = rep["per_keypoint"]
    header = ["keypoint", "n", "mean ks"]
    if "estimated_sigmas" in rep:
        header += ["sigma now", "estimated sigma"]
    table = []
    for r in rows:
        row = [r["keypoint"], r["n"], r["mean_ks"]]
        if "estimated_sigmas" in rep:
            row += [r.get("current_sigma"), r.get("estimated_sigma")]
        table.append(row)
    out.append(_table(header, table))
    return "\n\n".join(out)
