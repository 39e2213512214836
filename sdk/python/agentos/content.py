"""Rich results: what a tool, prompt or resource returns when plain JSON is not
enough (docs/skills.md, "Rich content").

A tool returns a value of one of these types, or a list of them, and an MCP client
gets the matching content blocks::

    from agentos import provides
    from agentos.content import Image, Text

    @provides("chart.draw")
    def draw(title: str) -> list:
        '''Draw a chart.'''
        return [Text(title), Image(png_bytes, "image/png")]

- ``Text(text)``: text.
- ``Image(data, mime="image/png")``, ``Audio(data, mime="audio/wav")``: bytes (or
  their base64).
- ``Resource(uri, text=None, blob=None, mime=None)``: an embedded resource, its text
  or its bytes.
- ``Link(uri, name, description=None, mime=None)``: a link to a resource the client
  may read, such as ``agentos://nodes/ID``.
- ``Message(role, content)``: one message of a prompt (``"user"`` or
  ``"assistant"``; content a str or one of the above).

Returned bytes are an embedded binary resource. Other callers (the CLI, apps) see
the same result as JSON: ``{"$content": [blocks]}`` or ``{"$messages": [...]}``, the
blocks in MCP's form (docs/worker-protocol.md, "Results").
"""

import base64

__all__ = ["Content", "Text", "Image", "Audio", "Resource", "Link", "Message"]


def _b64(data: "bytes | bytearray | memoryview | str", what: str) -> str:
    if isinstance(data, str):
        return data  # already base64
    if isinstance(data, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(data)).decode("ascii")
    raise TypeError(f"{what} data must be bytes or a base64 str, not {type(data).__name__}")


class Content:
    """A content block; ``block()`` is its JSON form."""

    __slots__ = ()

    def block(self) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.block()!r})"


class Text(Content):
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"Text needs a str, not {type(text).__name__}")
        self.text = text

    def block(self) -> dict:
        return {"type": "text", "text": self.text}


class _Media(Content):
    __slots__ = ("data", "mime")
    _type = ""

    def __init__(self, data: "bytes | str", mime: str) -> None:
        self.data, self.mime = _b64(data, type(self).__name__), mime

    def block(self) -> dict:
        return {"type": self._type, "data": self.data, "mimeType": self.mime}


class Image(_Media):
    __slots__ = ()
    _type = "image"

    def __init__(self, data: "bytes | str", mime: str = "image/png") -> None:
        super().__init__(data, mime)


class Audio(_Media):
    __slots__ = ()
    _type = "audio"

    def __init__(self, data: "bytes | str", mime: str = "audio/wav") -> None:
        super().__init__(data, mime)


class Resource(Content):
    __slots__ = ("uri", "text", "blob", "mime")

    def __init__(self, uri: str, text: "str | None" = None, blob: "bytes | str | None" = None,
                 mime: "str | None" = None) -> None:
        if (text is None) == (blob is None):
            raise TypeError("Resource needs exactly one of text= or blob=")
        self.uri, self.text, self.mime = uri, text, mime
        self.blob = None if blob is None else _b64(blob, "Resource blob")

    def block(self) -> dict:
        res: dict = {"uri": self.uri}
        if self.mime:
            res["mimeType"] = self.mime
        if self.text is not None:
            res["text"] = self.text
        else:
            res["blob"] = self.blob
        return {"type": "resource", "resource": res}


class Link(Content):
    __slots__ = ("uri", "name", "description", "mime")

    def __init__(self, uri: str, name: str, description: "str | None" = None, mime: "str | None" = None) -> None:
        self.uri, self.name, self.description, self.mime = uri, name, description, mime

    def block(self) -> dict:
        out = {"type": "resource_link", "uri": self.uri, "name": self.name}
        if self.description:
            out["description"] = self.description
        if self.mime:
            out["mimeType"] = self.mime
        return out


class Message:
    """One message of a prompt."""

    __slots__ = ("role", "content")

    def __init__(self, role: str, content: "str | Content") -> None:
        if role not in ("user", "assistant"):
            raise ValueError(f'a prompt message role is "user" or "assistant", not {role!r}')
        self.role, self.content = role, Text(content) if isinstance(content, str) else content
        if not isinstance(self.content, Content):
            raise TypeError(f"Message content must be a str or a content block, not {type(content).__name__}")

    def message(self) -> dict:
        return {"role": self.role, "content": self.content.block()}

    def __repr__(self) -> str:
        return f"Message({self.role!r}, {self.content!r})"


def wrap(value: object) -> object:
    """A result as JSON can carry it: content blocks (one, or a list of them) as
    ``{"$content": [...]}``, prompt messages as ``{"$messages": [...]}``, bytes as an
    embedded blob resource; any other value unchanged."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$content": [{"type": "resource", "resource": {"uri": "", "blob": _b64(value, "result"),
                                                               "mimeType": "application/octet-stream"}}]}
    if isinstance(value, Content):
        return {"$content": [value.block()]}
    if isinstance(value, Message):
        return {"$messages": [value.message()]}
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (Content, Message)) for v in value):
        if any(isinstance(v, Message) for v in value):
            return {"$messages": [v.message() if isinstance(v, Message) else {"role": "user", "content": v.block()}
                                  for v in value]}
        return {"$content": [v.block() for v in value]}
    return value
