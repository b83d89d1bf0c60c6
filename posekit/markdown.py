"""Markdown escaping: one escaper for every text posekit puts in Markdown."""
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md_escape(text):
    """``text`` as literal markdown text: markup characters backslashed,
    ``<``/``>``/``&`` as entities (so no raw HTML ever reaches the page)."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)
