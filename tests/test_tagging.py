"""Tag/untag for annotation: selection else current view, editable tag, the
form's count, bulk updates only."""
import fiftyone as fo
import fiftyone.core.sample as fos

from annotation_flow import form_text, run


def _ds(dataset, n=6):
    dataset.add_samples([fo.Sample(filepath="/tmp/img%d.jpg" % i, n=i) for i in range(n)])
    return dataset


def test_tags_selection_in_bulk(dataset, monkeypatch):
    ds = _ds(dataset)
    ids = ds.values("id")[:2]

    def no_loop(*a, **k):
        raise AssertionError("per-sample save")

    monkeypatch.setattr(fos.Sample, "save", no_loop)
    text = form_text("tag_for_annotation", ds, selected=ids)
    assert "Tags 2 sample(s) with 'annotate'" in text
    result = run("tag_for_annotation", ds, {"tag": "annotate"}, selected=ids)
    assert result.error is None, result.error
    assert sorted(ds.match_tags("annotate").values("id")) == sorted(ids)
    # already tagged: the form says nothing left to touch
    assert "Tags 0 sample(s)" in form_text("tag_for_annotation", ds, selected=ids)


def test_current_view_when_nothing_selected_and_custom_tag(dataset):
    ds = _ds(dataset)
    view = ds.match(fo.ViewField("n") >= 3)
    assert "Tags 3 sample(s) with 'todo'" in form_text(
        "tag_for_annotation", ds, params={"tag": "todo"}, view=view)
    result = run("tag_for_annotation", ds, {"tag": "todo"}, view=view)
    assert result.error is None, result.error
    assert sorted(ds.match_tags("todo").values("n")) == [3, 4, 5]
    assert ds.match_tags("annotate").count() == 0


def test_untag(dataset):
    ds = _ds(dataset)
    ds.tag_samples("annotate")
    ids = ds.values("id")[:4]
    assert "Removes tag 'annotate' from 4 sample(s)" in form_text(
        "untag_for_annotation", ds, selected=ids)
    result = run("untag_for_annotation", ds, {"tag": "annotate"}, selected=ids)
    assert result.error is None, result.error
    assert ds.match_tags("annotate").count() == 2


def test_blank_tag_is_refused_and_changes_nothing(dataset):
    ds = _ds(dataset)
    assert "non-empty" in form_text("tag_for_annotation", ds, params={"tag": "  "})
    result = run("tag_for_annotation", ds, {"tag": "  "})
    assert result.error is not None and "non-empty" in result.error_message
    assert ds.count_sample_tags() == {}

