"""The statisticians' downloads of ``/api/v1``: the SDTM-like exports and the HTML report.

Both need the policy action ``export.read`` (statistician and admin). The export is a ZIP of
the CSV domains :func:`hepatrial.service.export_sdtm` writes; the report is the self-contained
page ``hepatrial report --db`` writes, built from the same store analysis. Both hold no
allocation concealment secrets: the report shows arms only after the analysis has run, as the
command line does.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from hepatrial import service
from hepatrial.analysis.store import analyse_store
from hepatrial.report.html import ReportInput, render_report
from hepatrial.server.deps import Session, allowed_to
from hepatrial.server.errors import problem_responses
from hepatrial.store import StoreSession, User

router = APIRouter(tags=["downloads"])

Exporter = Annotated[User, Depends(allowed_to("export.read"))]

ZIP: Final = "application/zip"
_REFUSALS: Final = problem_responses(400, 401, 403)


def sdtm_zip(session: StoreSession) -> bytes:
    """The CSV domains of the store, zipped (``dm.csv``, ``lb.csv``, ...)."""
    with tempfile.TemporaryDirectory(prefix="hepatrial-sdtm-") as scratch:
        written = service.export_sdtm(session, scratch, format="csv")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(written.files.values()):
                archive.write(path, arcname=path.name)
    return buffer.getvalue()


@router.get(
    "/exports/sdtm",
    response_class=Response,
    responses={
        200: {
            "description": "A ZIP of the SDTM-like CSV domains.",
            "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}},
        },
        **_REFUSALS,
    },
)
def export_sdtm(session: Session, user: Exporter) -> Response:
    """The SDTM-like domains DM, LB, AE, EX, DS, QS and CE as CSV files in one ZIP."""
    return Response(
        sdtm_zip(session),
        media_type=ZIP,
        headers={"Content-Disposition": 'attachment; filename="sdtm.zip"'},
    )


@router.get(
    "/report",
    response_class=HTMLResponse,
    responses={200: {"description": "The self-contained HTML report."}, **_REFUSALS},
)
def report(request: Request, user: Exporter) -> HTMLResponse:
    """The trial's self-contained HTML report (the analysis plan run on the store now)."""
    analysis = analyse_store(request.app.state.settings.db)
    quality = analysis.quality.counts if analysis.quality is not None else None
    data = ReportInput(
        analysis.adam, analysis.results, analysis.protocol, analysis.source, data_quality=quality
    )
    return HTMLResponse(render_report(data))
