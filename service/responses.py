"""File answers: xlsx_response and pdf_response, the API's and the console's downloads."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Response

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(
    content: bytes, filename: str, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    ascii_name = filename.encode("ascii", "ignore").decode() or "zizhu.xlsx"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content=content,
        media_type=XLSX_MEDIA_TYPE,
        status_code=status_code,
        headers={"Content-Disposition": disposition, **(headers or {})},
    )


def pdf_response(pdf: bytes, filename: str) -> Response[bytes]:
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}"},
    )
