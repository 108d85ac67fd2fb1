"""Reading a request body in the loopback fakes (the Anthropic API and the Hub), chunked or not."""
from __future__ import annotations


class BodyTooLarge(ValueError):
    pass


def read_body(rfile, headers, limit: int) -> bytes:
    """The whole body of a request; BodyTooLarge past `limit` bytes, before reading the excess."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        chunks, total = [], 0
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > limit:
                raise BodyTooLarge(total)
            chunks.append(rfile.read(size))
            rfile.readline()
    length = int(headers.get("Content-Length") or 0)
    if length > limit:
        raise BodyTooLarge(length)
    return rfile.read(length) if length else b""
