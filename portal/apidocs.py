"""The API documentation at ``/schema``: Redoc from our own static files, no inline script.

Litestar's stock documentation pages load their scripts from public CDNs and start them
with inline ``<script>`` blocks, which the portal's Content-Security-Policy forbids (and
a CDN is one more party able to run script on our origin). Here the page is plain HTML:
Redoc's standalone bundle is vendored under ``static/vendor/redoc/`` and starts by
itself on the ``<redoc spec-url=…>`` element. The other stock viewers (Swagger UI,
RapiDoc, Stoplight Elements) are not served at all.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, YamlRenderPlugin

from portal.assets import static_url

# The bundle's path under static/; pages link it fingerprinted (``static_url``). Its
# sidebar logo is ours too (static/vendor/redoc/README.txt): the page fetches nothing
# from another site.
REDOC_BUNDLE = "vendor/redoc/redoc.standalone.js"
REDOC_SCRIPT = f"/static/{REDOC_BUNDLE}"

# The docs page's own policy. Scripts come only from this site, as everywhere; Redoc
# (styled-components) inserts <style> elements at run time, so styles may be inline on
# this page alone, and its search index runs in a worker it builds from a blob: URL.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class LocalRedocRenderPlugin(OpenAPIRenderPlugin):
    """Redoc served from the portal's static files, started without inline script."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/redoc"], favicon="", style="")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema.get("info", {}).get("title", "API")))
        spec_url = html.escape(self.get_openapi_json_route(request))
        page = (
            '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title></head>"
            f'<body><redoc spec-url="{spec_url}"></redoc>'
            f'<script src="{static_url(REDOC_BUNDLE)}"></script></body></html>'
        )
        return page.encode()


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """What ``/schema`` serves: the Redoc page, and the schema as JSON and YAML."""
    return [
        LocalRedocRenderPlugin(),
        JsonRenderPlugin(),
        YamlRenderPlugin(path=["/openapi.yaml", "/openapi.yml"]),
    ]
