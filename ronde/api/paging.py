"""Collections sized for people: ``limit`` and ``offset`` on every list that grows with the city.

The body stays what it was, a JSON array, so a client written for the sample estate keeps working
while its lists are shorter than the default limit; what a page leaves out is told in headers:

* ``X-Total-Count``: how many items the whole collection holds (absent where only a database query's
  ``LIMIT`` bounds what is read, so the total is unknown: bilans, deliveries);
* ``Link: </api/v1/...?limit=500&offset=500>; rel="next"`` (RFC 8288) while items follow, absent
  on the last page: a client follows it until it is gone.

Each route picks its default and maximum so that a default page stays well under 1 MB at city
scale (5,000 checkpoints, 50 estates); asking for the maximum is asking for a large answer. An
offset past the end answers an empty array, a limit or offset out of bounds a 422 naming it.
"""

# No ``from __future__ import annotations`` here: ``paging``'s closure puts each route's bounds into its
# parameters' annotations, which FastAPI must be able to evaluate (they name local variables).
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response

T = TypeVar("T")

MAX_OFFSET = 10_000_000  # far beyond any city; bounds the integer a query string may carry

PAGED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "one page of the collection (a JSON array)",
        "headers": {
            "X-Total-Count": {"description": "items in the whole collection", "schema": {"type": "integer"}},
            "Link": {
                "description": 'the next page, `<url>; rel="next"` (RFC 8288); absent on the last page',
                "schema": {"type": "string"},
            },
        },
    }
}


class Page:
    """The page a request asks for, and the request and response it belongs to (for the headers)."""

    __slots__ = ("limit", "offset", "request", "response")

    def __init__(self, limit: int, offset: int, request: Request, response: Response) -> None:
        self.limit = limit
        self.offset = offset
        self.request = request
        self.response = response

    @property
    def end(self) -> int:
        """One past the page's last item: a store asked for ``end + 1`` rows knows whether more follow."""
        return self.offset + self.limit

    def of(self, items: Sequence[T], *, complete: bool = True) -> list[T]:
        """This page of ``items`` (sliced before anything is built from them, where a route can),
        with ``X-Total-Count`` and, unless it is the last page, the ``next`` link set.

        ``complete=False``: ``items`` are the collection's first ``end + 1`` only (a query with a
        ``LIMIT``), so the total is unknown (no ``X-Total-Count``) but whether a next page exists is."""
        total = len(items)
        end = self.end
        if complete:
            self.response.headers["X-Total-Count"] = str(total)
        if end < total:
            url = self.request.url.include_query_params(limit=self.limit, offset=end)
            self.response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
        return list(items[self.offset : end])


def paging(default: int, maximum: int) -> Any:
    """A dependency giving a ``Page``: ``limit`` (``default``, at most ``maximum``) and ``offset``."""

    def ask(
        request: Request,
        response: Response,
        limit: Annotated[
            int, Query(ge=1, le=maximum, description=f"items per page (default {default}, at most {maximum})")
        ] = default,
        offset: Annotated[
            int, Query(ge=0, le=MAX_OFFSET, description="items skipped: follow the `Link` header's next page")
        ] = 0,
    ) -> Page:
        return Page(limit, offset, request, response)

    return Depends(ask)
