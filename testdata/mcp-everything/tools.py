"""The conformance suite's fixtures: tools (capabilities named as the suite's
tools), prompts and resources."""
import json
import struct
import time
import zlib

from agentos import OpError, ask, log, progress, prompt, provides, resource, sample, schema
from agentos.content import Audio, Image, Message, Resource, Text


def _png() -> bytes:
    """A 1x1 red pixel, as PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def _wav() -> bytes:
    """A tenth of a second of silence, as 8 kHz mono 16-bit WAV."""
    frames = b"\x00\x00" * 800
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


@provides("test_simple_text")
def simple_text() -> str:
    """Return a simple text."""
    return "This is a simple text response for testing."


@provides("test_image_content")
def image_content() -> Image:
    """Return a 1x1 red PNG image."""
    return Image(_png(), "image/png")


@provides("test_audio_content")
def audio_content() -> Audio:
    """Return a short WAV sound."""
    return Audio(_wav(), "audio/wav")


@provides("test_embedded_resource")
def embedded_resource() -> Resource:
    """Return an embedded text resource."""
    return Resource("test://embedded-resource", text="This is an embedded resource content.", mime="text/plain")


@provides("test_multiple_content_types")
def multiple_content_types() -> list:
    """Return text, an image and an embedded resource."""
    return [Text("Multiple content types test:"), Image(_png(), "image/png"),
            Resource("test://mixed-content-resource", text=json.dumps({"test": "data", "value": 123}),
                     mime="application/json")]


@provides("test_tool_with_logging")
def tool_with_logging() -> str:
    """Log three messages while it runs."""
    log("Tool execution started")
    time.sleep(0.05)
    log("Tool processing data")
    time.sleep(0.05)
    log("Tool execution completed")
    return "Tool with logging executed successfully"


@provides("test_error_handling")
def error_handling() -> str:
    """Always fail."""
    raise RuntimeError("This tool intentionally returns an error for testing")


@provides("test_tool_with_progress")
def tool_with_progress() -> str:
    """Report progress 0, 50 and 100 of 100."""
    for i, done in enumerate((0, 50, 100)):
        if i:
            time.sleep(0.05)
        progress(done, 100)
    return "Tool with progress executed successfully"


@provides("test_sampling")
def sampling(prompt: str) -> str:
    """Ask the client's model.

    Args:
        prompt: The prompt to send to the LLM
    """
    answer = sample([{"role": "user", "content": prompt}], max_tokens=100)
    return "LLM response: " + answer["content"].get("text", "")


@provides("test_elicitation")
def elicitation(message: str) -> str:
    """Ask the user for a name and an email address.

    Args:
        message: The message to show the user
    """
    answer = ask(message, {"type": "object", "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"},
    }, "required": ["username", "email"]})
    return f"User response: action={answer['action']}, content={json.dumps(answer.get('content'))}"


def _elicited(answer: dict) -> str:
    return f"Elicitation completed: action={answer['action']}, content={json.dumps(answer.get('content'))}"


@provides("test_elicitation_sep1034_defaults")
def elicitation_defaults() -> str:
    """Ask for values that each have a default."""
    return _elicited(ask("Please review the defaults", {"type": "object", "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "default": True},
    }}))


@provides("test_elicitation_sep1330_enums")
def elicitation_enums() -> str:
    """Ask with every kind of enum."""
    return _elicited(ask("Please pick options", {"type": "object", "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {"type": "string", "oneOf": [{"const": "value1", "title": "First Option"},
                                                     {"const": "value2", "title": "Second Option"},
                                                     {"const": "value3", "title": "Third Option"}]},
        "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"],
                       "enumNames": ["Option One", "Option Two", "Option Three"]},
        "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
        "titledMulti": {"type": "array", "items": {"anyOf": [{"const": "value1", "title": "First Choice"},
                                                              {"const": "value2", "title": "Second Choice"},
                                                              {"const": "value3", "title": "Third Choice"}]}},
    }}))


@provides("json_schema_2020_12_tool")
@schema({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
    "additionalProperties": False,
})
def json_schema_2020_12_tool(name: str = "", address: dict | None = None) -> dict:
    """Tool with JSON Schema 2020-12 features"""
    return {"name": name, "address": address}


@resource("test://static-text", name="static-text", mime="text/plain")
def static_text() -> str:
    """A static text resource."""
    return "This is the content of the static text resource."


@resource("test://static-binary", name="static-binary", mime="image/png")
def static_binary() -> bytes:
    """A static binary resource (a PNG image)."""
    return _png()


@resource("test://template/{id}/data", name="template-data", mime="application/json")
def template_data(id: str) -> str:
    """Data for one id."""
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


@resource("test://watched-resource", name="watched-resource", mime="text/plain")
def watched_resource() -> str:
    """A resource clients may subscribe to."""
    return "Watched resource content."


@prompt
def test_simple_prompt() -> str:
    """A prompt with no arguments."""
    return "This is a simple prompt for testing."


@prompt
def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    """A prompt with two arguments.

    Args:
        arg1: First test argument
        arg2: Second test argument
    """
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@prompt
def test_prompt_with_embedded_resource(resourceUri: str) -> list:
    """A prompt that embeds a resource.

    Args:
        resourceUri: URI of the resource to embed
    """
    return [Message("user", Resource(resourceUri, text="Embedded resource content for testing.", mime="text/plain")),
            Message("user", "Please process the embedded resource above.")]


@prompt
def test_prompt_with_image() -> list:
    """A prompt with an image."""
    return [Message("user", Image(_png(), "image/png")), Message("user", "Please analyze the image above.")]


# The tasks extension's fixtures (SEP-2663): a sync tool, and tools that
# run as tasks (@provides(..., task="optional" | "required")), each an
# engine job.
@provides("test_reconnection")
def reconnection() -> str:
    """Answer after two seconds: longer than the stream the conformance test's
    proxy keeps open (`--sse-poll`), so the client resumes to read it."""
    time.sleep(2)
    return "reconnected and answered"


@provides("greet")
def greet(name: str) -> str:
    """Greet someone, at once (no task)."""
    return f"Hello, {name}!"


@provides("slow_compute", task="optional")
def slow_compute(seconds: float = 1, label: str = "") -> str:
    """Compute for a while; a task when the client speaks the tasks extension.

    Args:
        seconds: how long to work
        label: a name for the run, echoed back
    """
    time.sleep(max(0.0, float(seconds)))
    return f"computed {label} after {seconds} seconds".replace("  ", " ")


@provides("failing_job", task="required")
def failing_job(label: str = "") -> str:
    """Fail after a second; runs only as a task.

    Args:
        label: a name for the run
    """
    time.sleep(1)
    raise RuntimeError("the job failed, as it always does")


@provides("protocol_error_job", task="required")
def protocol_error_job() -> str:
    """Fail at the protocol level: nothing can serve it (unavailable), so its
    task is failed rather than completed with an error result."""
    raise OpError("unavailable", "this job's backend is never there")


@provides("test_tool_with_task", task="required", requires=["elicitation"])
def tool_with_task() -> str:
    """Ask the user's name, then go on as a task (input before the task, MRTR)."""
    answer = ask("Your name?", {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]})
    time.sleep(0.5)
    return f"Hello, {(answer.get('content') or {}).get('name', 'nobody')}, from a task"


@provides("confirm_delete", task="optional")
def confirm_delete(filename: str) -> str:
    """Delete a file once the user confirms (it asks, as a task waiting for input).

    Args:
        filename: the file to delete
    """
    answer = ask(f"Delete {filename}?", {"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]})
    confirmed = answer.get("action") == "accept" and (answer.get("content") or {}).get("confirm")
    return f"deleted {filename}" if confirmed else f"kept {filename}"


@provides("multi_input", task="optional")
async def multi_input() -> str:
    """Ask two questions at once."""
    import asyncio

    from agentos import aask

    schema = {"type": "object", "properties": {"name": {"type": "string"}, "confirm": {"type": "boolean"}}}
    first, second = await asyncio.gather(aask("First?", schema), aask("Second?", schema))
    return f"answers: {first.get('content')}, {second.get('content')}"


# The stateless core's diagnostic tools (SEP-2575).
@provides("test_missing_capability", requires=["sampling"])
def missing_capability() -> str:
    """Needs the client to offer sampling; refused with -32021 otherwise."""
    answer = sample("Say yes.", max_tokens=10)
    return "the model said: " + answer["content"].get("text", "")


@provides("test_streaming_elicitation")
def streaming_elicitation() -> str:
    """Ask the user while the call runs."""
    answer = ask("Your name?", {"type": "object", "properties": {"name": {"type": "string"}}})
    return f"answered: {answer.get('action')}"


@provides("test_logging_tool")
def logging_tool() -> str:
    """Log a line while it runs."""
    log("a line from the logging tool")
    return "logged"


# A parameter mirrored in an HTTP header (SEP-2243): clients send region as
# Mcp-Param-Region too, and the server checks the two agree.
@provides("test_header_param", task="optional")
@schema({"type": "object", "properties": {
    "region": {"type": "string", "x-mcp-header": "Region", "description": "where to look"},
    "query": {"type": "string"},
}, "required": ["region"]})
def header_param(region: str, query: str = "") -> str:
    """Look something up in a region."""
    return f"{query or 'everything'} in {region}"
