"""Small HTTP helpers for the emulator: body parsing (JSON, urlencoded,
multipart), cookies and CVAT/Django-shaped error answers."""
import json
import re
from urllib.parse import parse_qs

_DISPOSITION = re.compile(rb'(\w+)="((?:[^"\\]|\\.)*)"')


class HttpError(Exception):
    """An error answer: status and a JSON body (or text/html when html=True)."""

    def __init__(self, status, body, html=False):
        super().__init__(status, body)
        self.status, self.body, self.html = status, body, html


def not_found_html():
    """Django's plain 404 page for unknown URLs (what CVAT answers)."""
    return HttpError(
        404,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n"
        "</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was "
        "not found on this server.</p>\n</body>\n</html>\n",
        html=True,
    )


def server_error_html(status):
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error "
        f"({status})</title>\n</head>\n<body>\n  <h1>Server Error ({status})"
        "</h1><p></p>\n</body>\n</html>\n"
    )


def parse_body(content_type, raw):
    """(fields dict, files list of (field, filename, bytes)) for a body."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not raw:
        return {}, []
    if ctype == "multipart/form-data":
        m = re.search(r'boundary="?([^";]+)"?', content_type)
        if not m:
            raise HttpError(400, {"detail": "Multipart form parse error - Invalid boundary in multipart: None"})
        return _multipart(raw, m.group(1).encode())
    if ctype == "application/x-www-form-urlencoded":
        qs = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in qs.items()}, []
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise HttpError(400, {"detail": f"JSON parse error - {e}"}) from None
    return data, []


def _multipart(raw, boundary):
    fields, files = {}, []
    for part in raw.split(b"--" + boundary):
        if part in (b"", b"--", b"--\r\n", b"\r\n") or part.startswith(b"--"):
            continue
        head, _, body = part.partition(b"\r\n\r\n")
        if body.endswith(b"\r\n"):
            body = body[:-2]
        disp = {}
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-disposition"):
                disp = {k.decode(): v.decode("utf-8") for k, v in _DISPOSITION.findall(line)}
        name = disp.get("name")
        if name is None:
            continue
        if "filename" in disp:
            files.append((name, disp["filename"], body))
        else:
            value = body.decode("utf-8")
            if name in fields:
                prev = fields[name]
                fields[name] = (prev if isinstance(prev, list) else [prev]) + [value]
            else:
                fields[name] = value
    return fields, files


def parse_cookies(header):
    out = {}
    for item in (header or "").split(";"):
        if "=" in item:
            k, v = item.strip().split("=", 1)
            out[k] = v
    return out
