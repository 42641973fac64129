"""The API documentation page works offline: Swagger UI comes from our own static
files (no CDN), renders the OpenAPI document and lists the ledger endpoints."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.browser
def test_api_docs_render_from_local_files_and_list_the_endpoints(
    live_server: Any, page: Any, transactional_db: Any
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.url}/api/v1/docs")
    page.get_by_text("/api/v1/reports/aging").first.wait_for()

    assert page.get_by_text("Receivables Desk API").first.is_visible()
    assert page.get_by_text("/api/v1/dealers/{code}/promises").first.is_visible()
    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
