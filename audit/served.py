"""A Concord log as its API serves it over HTTP, read by someone who trusts none of it: the
checkpoint, the hash tiles and the entry bundles (audit.monitor checks what they say)."""

from __future__ import annotations

import asyncio
from typing import Final

import httpx
import orjson

from audit import merkle
from audit.departure import bundle_entries
from audit.tiles import HEIGHT, MAX_ENTRY, WIDTH, tile_path
from domain.errors import AuditFailed, InvalidInput, NotFound, Unavailable

TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)
RATE_LIMITED_TRIES: Final = 5
MAX_CHECKPOINT_BYTES: Final = 64 * 1024


def base_url(url: str) -> str:
    """The API's base URL, without a trailing slash; InvalidInput naming URL otherwise."""
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as error:
        raise InvalidInput("URL", f"{shown(url)} is not a URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput(
            "URL", f"{shown(url)} is not the API's http(s) address, like http://127.0.0.1:8000"
        )
    if parsed.query or parsed.fragment:
        raise InvalidInput("URL", "the API's address has no query or fragment")
    return str(parsed).rstrip("/")


class ServedLog:
    """The log as a Concord API serves it under /log/: the checkpoint, the hash tiles, and the
    entry bundles, which alone are sent the token. A server that withholds what its checkpoint
    signed is an AuditFailed; one that cannot be reached, Unavailable."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = base_url(url)
        self._token = token
        self._http = httpx.AsyncClient(timeout=TIMEOUT)

    @property
    def reads_entries(self) -> bool:
        return self._token is not None

    async def __aenter__(self) -> ServedLog:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def checkpoint(self) -> str:
        status, body = await self._get("checkpoint", MAX_CHECKPOINT_BYTES)
        if status >= 500:
            raise AuditFailed(
                f"the log withholds its checkpoint: {self.url}/log/checkpoint answered "
                f"{status}{said(body)}"
            )
        if status != 200:
            raise NotFound(
                f"no checkpoint at {self.url}/log/checkpoint ({status}{said(body)}): is it a "
                "Concord API with a log signing key?"
            )
        try:
            return body.decode()
        except UnicodeDecodeError:
            raise AuditFailed("the log's checkpoint is not UTF-8 text") from None

    async def hashes(self, level: int, index: int, width: int) -> list[bytes]:
        """The hashes of a hash tile: the tree's level-8L hashes [256 index, + width)."""
        path = tile_path(level, index, width)
        body = await self._tile(path, 32 * width, with_token=False)
        if len(body) != 32 * width:
            raise AuditFailed(f"the log serves {path} with {len(body)} bytes, not {32 * width}")
        return [body[at : at + 32] for at in range(0, len(body), 32)]

    async def entries(self, index: int, width: int) -> list[bytes]:
        """The entries of an entry bundle: leaves [256 index, + width)."""
        path = tile_path("entries", index, width)
        body = await self._tile(path, width * (2 + MAX_ENTRY), with_token=True)
        try:
            found = bundle_entries(body, path)
        except InvalidInput as error:
            raise AuditFailed(f"the log's entry bundle {error.reason}") from None
        if len(found) != width:
            raise AuditFailed(
                f"the log's entry bundle {path} holds {len(found)} entries, not {width}"
            )
        return found

    async def _tile(self, path: str, limit: int, with_token: bool) -> bytes:
        status, body = await self._get(path, limit, with_token)
        if with_token and status in (401, 403):
            raise InvalidInput("token", f"the log refused it for {path} ({status}{said(body)})")
        if status != 200:
            raise AuditFailed(
                f"the log withholds {path} of the tree it signed: it answered {status}{said(body)}"
            )
        return body

    async def _get(self, path: str, limit: int, with_token: bool = False) -> tuple[int, bytes]:
        """The status and body of GET /log/`path`, read to at most `limit` bytes; a request
        turned away for its rate is sent again when the server says."""
        headers = {"Authorization": f"Bearer {self._token}"} if with_token and self._token else {}
        for _ in range(RATE_LIMITED_TRIES):
            try:
                async with self._http.stream(
                    "GET", f"{self.url}/log/{path}", headers=headers
                ) as response:
                    if response.status_code == 429:
                        wait = response.headers.get("retry-after", "1")
                        await asyncio.sleep(min(10, int(wait)) if wait.isdigit() else 1)
                        continue
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > limit:
                            raise AuditFailed(
                                f"the log answered more than {limit:,} bytes for {path}"
                            )
                    return response.status_code, bytes(body)
            except httpx.TimeoutException:
                raise Unavailable(f"the log at {self.url} did not answer {path} in time") from None
            except httpx.HTTPError as error:
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise Unavailable(f"the log at {self.url} is not reachable: {reason}") from None
        raise Unavailable(f"the log at {self.url} keeps turning {path} away for its rate (429)")


class ServedTree:
    """The hash tiles of the served tree of `size` leaves, each fetched once, at the width
    that tree has; any complete subtree's hash from one of them. Nothing here is trusted until
    it hashes to a signed root or to a subtree verified before."""

    def __init__(self, log: ServedLog, size: int) -> None:
        self.log = log
        self.size = size
        self._tiles: dict[tuple[int, int], list[bytes]] = {}
        self._subtrees: dict[tuple[int, int], bytes] = {}

    def path(self, tile_level: int, index: int) -> str:
        nodes = self.size >> (HEIGHT * tile_level)
        return tile_path(tile_level, index, min(WIDTH, nodes - index * WIDTH))

    async def hashes(self, tile_level: int, start: int, end: int) -> list[bytes]:
        """The tree's level-8L hashes [start, end), from the level-L tiles."""
        nodes = self.size >> (HEIGHT * tile_level)
        if not 0 <= start < end <= nodes:
            raise ValueError(f"hashes {start}..{end} of level {tile_level} are not in {self.size}")
        found: list[bytes] = []
        for index in range(start // WIDTH, (end - 1) // WIDTH + 1):
            if (tile_level, index) not in self._tiles:
                width = min(WIDTH, nodes - index * WIDTH)
                self._tiles[tile_level, index] = await self.log.hashes(tile_level, index, width)
            found += self._tiles[tile_level, index]
        offset = start // WIDTH * WIDTH
        return found[start - offset : end - offset]

    async def subtree(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree at (level, index) (a `merkle.Subtrees`)."""
        if (level, index) not in self._subtrees:
            tile_level, height = divmod(level, HEIGHT)
            below = await self.hashes(tile_level, index << height, (index + 1) << height)
            self._subtrees[level, index] = merkle.root_of(below)
        return self._subtrees[level, index]


def said(body: bytes) -> str:
    """What a server said with an error status, shown safely and briefly."""
    try:
        document = orjson.loads(body)
        message = document["error"]["message"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message = body.decode(errors="replace")
    return f": {shown(str(message))}" if str(message).strip() else ""


def shown(text: str, limit: int = 200) -> str:
    """Text the server wrote, safe in a terminal: control characters as \\xNN, cut short."""
    visible = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return visible if len(visible) <= limit else visible[:limit] + "..."
