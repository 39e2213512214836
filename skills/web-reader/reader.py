"""web.read: fetch a page and extract its title and visible text (stdlib only)."""
from html.parser import HTMLParser

from agentos import OpError, http, provides, returns, timeout

# Text inside these elements is never shown to a reader.
_HIDDEN = {"script", "style", "noscript", "template", "head", "svg"}
_BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "pre"}
_MAX_TEXT = 200_000


class _Extractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title = ""
        self._in_title = False
        self._hidden = 0
        self._parts = []

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        elif tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCK:
            self._parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in _HIDDEN and self._hidden:
            self._hidden -= 1
        elif tag in _BLOCK:
            self._parts.append("\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._hidden:
            self._parts.append(data)

    def text(self):
        lines = (" ".join(line.split()) for line in "".join(self._parts).splitlines())
        return "\n".join(line for line in lines if line)[:_MAX_TEXT]


@provides("web.read")
@returns("webpage")
@timeout(45)
def read(url: str) -> dict:
    """Fetch a web page and return its title and visible text.

    Args:
        url: the page's address, http:// or https://
    """
    r = http.get(url, headers={"Accept": "text/html,application/xhtml+xml,text/plain;q=0.8"}, timeout=30)
    if r.status >= 400:
        raise OpError("unavailable" if r.status >= 500 else "invalid", f"{url} answered HTTP {r.status}")
    kind = r.headers.get("content-type", "")
    if "html" in kind or not kind:
        p = _Extractor()
        p.feed(r.text)
        p.close()
        name, content = " ".join(p.title.split()), p.text()
    else:
        name, content = url, r.text[:_MAX_TEXT]
    return {"url": url, "name": name or url, "content": content, "status": r.status}
