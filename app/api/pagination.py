"""`next` and `previous` links, written byte for byte as the replaced system did.

Django REST Framework rebuilt the request's absolute URL with `limit` and
`offset` replaced, every other parameter kept (blank and repeated ones too),
parameters sorted by name and form-encoded. Clients compare these links, so
we produce the same bytes.
"""

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit


def _with_params(url: str, replace: dict[str, str], drop: tuple[str, ...]) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    for name in drop:
        params.pop(name, None)
    for name, value in replace.items():
        params[name] = [value]
    encoded = urlencode(sorted(params.items()), doseq=True)
    return urlunsplit((scheme, netloc, path, encoded, fragment))


def next_link(url: str, *, count: int, limit: int, offset: int) -> str | None:
    if offset + limit >= count:
        return None
    return _with_params(
        url, {"limit": str(limit), "offset": str(offset + limit)}, drop=()
    )


def previous_link(url: str, *, limit: int, offset: int) -> str | None:
    if offset <= 0:
        return None
    if offset - limit <= 0:
        return _with_params(url, {"limit": str(limit)}, drop=("offset",))
    return _with_params(
        url, {"limit": str(limit), "offset": str(offset - limit)}, drop=()
    )
