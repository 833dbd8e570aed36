"""The interactive API documentation: Swagger UI at /docs, ReDoc at /redoc.

FastAPI's own pages load their scripts, styles, favicon and fonts from CDNs and stay blank on a
plant network without the internet. These pages load everything from the npm packages
installed next to the dashboard (swagger-ui-dist, redoc), which the app serves under /vendor.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from services.api.problems import ProblemError

SWAGGER_JS = "swagger-ui-dist/swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui-dist/swagger-ui.css"
FAVICON = "swagger-ui-dist/favicon-32x32.png"
REDOC_JS = "redoc/bundles/redoc.standalone.js"
ASSETS = (SWAGGER_JS, SWAGGER_CSS, FAVICON, REDOC_JS)
# The pages may load from this server only. ReDoc's bundle fetches its sidebar logo from
# Redocly's CDN (no option turns that off): refused here, the logo is left out, and no
# browser on a plant network waits on or reports to a host outside. Inline: FastAPI's page
# script, Swagger UI's and ReDoc's injected styles; blob: ReDoc's search worker.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:"
)


def install_docs(app: FastAPI, vendor_dir: Path, vendor_url: str, openapi_url: str) -> None:
    """Routes /docs and /redoc; both answer 503 when the packages are not installed, rather
    than a page that stays blank."""
    missing = [asset for asset in ASSETS if not (vendor_dir / asset).is_file()]

    def base(request: Request) -> str:
        """The app's prefix behind a proxy (root_path), for the page's own links."""
        if missing:
            raise ProblemError(
                503,
                f"the API documentation's packages are not installed in {vendor_dir}"
                f" (missing {', '.join(missing)}): run `npm ci` in the dashboard directory",
            )
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = base(request)
        return _self_only(
            get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{root}{vendor_url}/{SWAGGER_JS}",
                swagger_css_url=f"{root}{vendor_url}/{SWAGGER_CSS}",
                swagger_favicon_url=f"{root}{vendor_url}/{FAVICON}",
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = base(request)
        return _self_only(
            get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{vendor_url}/{REDOC_JS}",
                redoc_favicon_url=f"{root}{vendor_url}/{FAVICON}",
                with_google_fonts=False,
            )
        )


def _self_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = POLICY
    return page
