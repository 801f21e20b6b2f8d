"""The printable invite sheet (.docx): each lead unit's one-time invite link and its QR code,
to hand out at a meeting (`taskbot invites --out FILE.docx`).

One table row per unit: the unit's name, a QR code of its `t.me` link (segno, PNG, about
3.5 cm square, scannable from paper by a phone's camera or WeChat/Telegram scanner), and the
link written out with its expiry. Built with python-docx; nothing is sent anywhere. The
sheet's wording is fixed here, as the ledger's headers are in `office/ledger.py`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import segno
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

TITLE = "残工委重点任务督办助手 联络员邀请"
INTRO = (
    "请各牵头单位联络员用手机扫描本单位的二维码（或在Telegram中打开链接），"
    "点击“开始”即完成登记。每个邀请只能使用一次，请勿转给其他单位。"
)
HEADERS = ("牵头单位", "二维码", "邀请链接")
EXPIRES = "有效期至{expires}"
GENERATED = "生成时间：{at}"
QR_SIZE = Cm(3.5)


@dataclass(frozen=True)
class InviteEntry:
    """One unit's invite: its name, the link, and when it expires (local time, as text)."""

    unit: str
    link: str
    expires: str


def qr_png(link: str) -> bytes:
    """A PNG of the QR code of `link` (error correction M, a 4-module quiet zone)."""
    buffer = io.BytesIO()
    segno.make(link, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def write_invite_sheet(
    target: str | Path | IO[bytes], entries: Sequence[InviteEntry], *, generated_at: str
) -> int:
    """Write the sheet for `entries` to a path or binary file; returns the rows written."""
    document = Document()
    for section in document.sections:
        section.left_margin = section.right_margin = Cm(2)
        section.top_margin = section.bottom_margin = Cm(1.8)
    document.add_heading(TITLE, level=1)
    document.add_paragraph(INTRO)
    document.add_paragraph(GENERATED.format(at=generated_at))
    table = document.add_table(rows=1, cols=len(HEADERS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, header in zip(table.rows[0].cells, HEADERS, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(header)
        run.bold = True
    for entry in entries:
        unit_cell, qr_cell, link_cell = table.add_row().cells
        unit_run = unit_cell.paragraphs[0].add_run(entry.unit)
        unit_run.font.size = Pt(14)
        unit_run.bold = True
        paragraph = qr_cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run().add_picture(io.BytesIO(qr_png(entry.link)), width=QR_SIZE)
        link_cell.paragraphs[0].add_run(entry.link).font.size = Pt(9)
        link_cell.add_paragraph(EXPIRES.format(expires=entry.expires))
    for row in table.rows:
        row.cells[0].width, row.cells[1].width, row.cells[2].width = Cm(4), Cm(4.5), Cm(8.5)
    document.save(str(target) if isinstance(target, Path) else target)
    return len(entries)


__all__ = ["InviteEntry", "qr_png", "write_invite_sheet"]
