"""TLS verification of the CVAT server: on by default; ``ssl_verify`` /
``FIFTYONE_CVAT_SSL_VERIFY`` turn it off (a self-signed server) or name a CA
bundle."""
import os

#: environment variable (and plugin secret) for TLS verification: "true"
#: (default), "false" (a self-signed server), or the path of a CA bundle
SSL_VERIFY_ENV_VAR = "FIFTYONE_CVAT_SSL_VERIFY"
_FALSE = ("false", "0", "no", "off")
_TRUE = ("true", "1", "yes", "on", "")


def parse_ssl_verify(value):
    """``requests``' ``verify`` from a bool or a setting string: True, False,
    or the path of a CA bundle (which must exist)."""
    if value is None or isinstance(value, bool):
        return True if value is None else value
    text = str(value).strip()
    if text.lower() in _FALSE:
        return False
    if text.lower() in _TRUE:
        return True
    path = os.path.expanduser(text)
    if not os.path.isfile(path):
        raise ValueError(
            "%s / ssl_verify is %r: use true, false (a self-signed server) or "
            "the path of an existing CA bundle file" % (SSL_VERIFY_ENV_VAR, text)
        )
    return path
