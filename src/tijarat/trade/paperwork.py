"""Export paperwork as PDF (fpdf2): the commercial invoice and the packing list.

Both carry what a Pakistani exporter's bank, Customs (WeBOC/PSW) and the buyer's customs
broker look for: exporter with NTN, consignee, invoice and PO numbers, B/L or AWB number,
origin, Incoterm 2020, HS codes, quantities, weights, values and currency. Built from the
order as sold (the lines carry the catalog facts copied in when the order arrived).

The PDF core fonts cover Latin-1 only; other characters (a buyer's name in another script)
are folded to their closest Latin-1 form or printed as "?", never dropped silently.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

from babel import Locale
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from tijarat.kernel.money import currency_exponent
from tijarat.trade.model import (
    Exporter,
    ExportProceeds,
    Order,
    Shipment,
    format_hs_code,
    pakistan_date,
)

ORIGIN_COUNTRY = "Pakistan"
DECLARATION = (
    "We declare that this invoice shows the actual price of the goods described, that all "
    "particulars are true and correct, and that the goods are of Pakistani origin."
)
PAYMENT_TERMS = "Marketplace secure payment: buyer's funds held in escrow until receipt"
TO_BE_ADVISED = "to be advised"
_ENGLISH = Locale("en")
_PAGE_WIDTH_MM = 190  # A4 less 10 mm margins


def latin1(text: str) -> str:
    """Text the PDF core fonts can draw: accents folded where Latin-1 lacks them."""
    result = []
    for char in text:
        try:
            char.encode("latin-1")
            result.append(char)
        except UnicodeEncodeError:
            folded = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode()
            result.append(folded or "?")
    return "".join(result)


def money_text(amount_minor: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    value = Decimal(amount_minor).scaleb(-exponent)
    return f"{value:,.{exponent}f}"


def kilograms(grams: int) -> str:
    return f"{Decimal(grams).scaleb(-3):,.3f}"


def centimetres(millimetres: int) -> str:
    whole, tenths = divmod(millimetres, 10)
    return f"{whole}" if tenths == 0 else f"{whole}.{tenths}"


def country_name(code: str) -> str:
    return str(_ENGLISH.territories.get(code, code))


class _Document(FPDF):
    def __init__(self, title: str, reference: str, created_ns: int) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.heading = title
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(f"{title} {reference}")
        self.set_creator("Tijarat")
        self.set_author("Tijarat")
        # Deterministic: the same order gives the same document, byte for byte.
        self.set_creation_date(datetime.fromtimestamp(created_ns // 1_000_000_000, UTC))
        self.add_page()
        self.set_font("Helvetica", "B", 16)
        self.cell(0, 10, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, f"{self.heading} - page {self.page_no()}/{{nb}}", align="C")

    def parties(self, exporter: Exporter, order: Order) -> None:
        buyer = order.buyer
        left = "\n".join(
            [
                "EXPORTER",
                exporter.name,
                exporter.address,
                f"{exporter.city}, {ORIGIN_COUNTRY}",
                f"NTN: {exporter.ntn}",
                f"{exporter.email}  {exporter.phone}",
            ]
        )
        right = "\n".join(
            [
                "CONSIGNEE",
                buyer.company,
                f"Attn: {buyer.contact_name}",
                buyer.address,
                country_name(buyer.country),
                buyer.email,
            ]
        )
        self.set_font("Helvetica", "", 9)
        top = self.get_y()
        half = _PAGE_WIDTH_MM / 2
        self.multi_cell(half - 2, 4.5, latin1(left), border=1)
        left_bottom = self.get_y()
        self.set_xy(10 + half, top)
        self.multi_cell(half, 4.5, latin1(right), border=1)
        self.set_y(max(left_bottom, self.get_y()) + 3)

    def facts(self, rows: list[tuple[str, str]]) -> None:
        self.set_font("Helvetica", "", 9)
        with self.table(
            col_widths=(55, 135), first_row_as_headings=False, line_height=5.5
        ) as table:
            for label, value in rows:
                row = table.row()
                row.cell(latin1(label))
                row.cell(latin1(value))
        self.ln(3)

    def paragraph(self, text: str, *, bold: bool = False) -> None:
        self.set_font("Helvetica", "B" if bold else "", 9)
        self.multi_cell(0, 4.5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _shipping_facts(shipment: Shipment | None) -> list[tuple[str, str]]:
    if shipment is None:
        return [
            ("B/L or AWB No.", TO_BE_ADVISED),
            ("Mode of transport", TO_BE_ADVISED),
            ("Port of loading", TO_BE_ADVISED),
            ("Port of discharge", TO_BE_ADVISED),
            ("Date of export", TO_BE_ADVISED),
        ]
    return [
        (f"{shipment.mode.transport_document} No.", shipment.transport_document_number),
        ("Carrier / tracking No.", f"{shipment.carrier.upper()} {shipment.tracking_number}"),
        ("Mode of transport", shipment.mode.value),
        ("Port of loading", shipment.port_of_loading),
        ("Port of discharge", shipment.port_of_discharge),
        ("Date of export", pakistan_date(shipment.shipped_at).isoformat()),
    ]


def commercial_invoice(
    order: Order,
    exporter: Exporter,
    shipment: Shipment | None,
    proceeds: ExportProceeds | None,
) -> bytes:
    issued = shipment.shipped_at if shipment else order.created_at
    pdf = _Document("COMMERCIAL INVOICE", order.invoice_number, issued)
    pdf.parties(exporter, order)
    reference = proceeds.financial_instrument_reference if proceeds else None
    pdf.facts(
        [
            ("Invoice No.", order.invoice_number),
            ("Invoice date", pakistan_date(issued).isoformat()),
            ("Buyer's PO / order No.", order.marketplace_order_id),
            *_shipping_facts(shipment),
            ("Country of origin", ORIGIN_COUNTRY),
            ("Country of final destination", country_name(order.buyer.country)),
            ("Incoterms 2020", f"{order.incoterm.value} {order.incoterm_place}"),
            ("Payment terms", PAYMENT_TERMS),
            ("Currency", order.currency),
            ("PSW Financial Instrument", reference or "not required (B2C e-commerce)"),
        ]
    )
    currency = order.currency
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(
        col_widths=(8, 50, 20, 16, 14, 18, 18, 20, 26),
        text_align=("RIGHT", "LEFT", "LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=4.5,
    ) as table:
        heading = table.row()
        for title in (
            "No.",
            "Description",
            "HS code",
            "Quantity",
            "Unit",
            "Net kg",
            "Gross kg",
            f"Unit price {currency}",
            f"Amount {currency}",
        ):
            heading.cell(title)
        for line in order.lines:
            row = table.row()
            row.cell(str(line.line_number))
            row.cell(latin1(f"{line.description} ({line.sku})"))
            row.cell(format_hs_code(line.hs_code))
            row.cell(f"{line.quantity:,}")
            row.cell(line.unit)
            row.cell(kilograms(line.net_weight_grams))
            row.cell(kilograms(line.gross_weight_grams))
            row.cell(money_text(line.unit_price_minor, currency))
            row.cell(money_text(line.amount_minor, currency))
    pdf.ln(2)
    net = sum(line.net_weight_grams for line in order.lines)
    gross = sum(line.gross_weight_grams for line in order.lines)
    packages = sum(line.packages for line in order.lines)
    pdf.facts(
        [
            ("Value of goods", f"{currency} {money_text(order.goods_minor, currency)}"),
            (
                "Freight and other charges",
                f"{currency} {money_text(order.shipping_minor, currency)}",
            ),
            ("Total invoice value", f"{currency} {money_text(order.total_minor, currency)}"),
            ("Total net weight", f"{kilograms(net)} kg"),
            ("Total gross weight", f"{kilograms(gross)} kg"),
            ("Number of packages", f"{packages:,}"),
        ]
    )
    pdf.paragraph("Declaration", bold=True)
    pdf.paragraph(DECLARATION)
    pdf.ln(8)
    pdf.paragraph(f"For {exporter.name}: authorised signatory")
    return bytes(pdf.output())


def packing_list(order: Order, exporter: Exporter, shipment: Shipment | None) -> bytes:
    issued = shipment.shipped_at if shipment else order.created_at
    pdf = _Document("PACKING LIST", order.invoice_number, issued)
    pdf.parties(exporter, order)
    packages_total = sum(line.packages for line in order.lines)
    marks = (
        f"{order.buyer.company} / {order.marketplace_order_id} / MADE IN PAKISTAN / "
        f"C/No. 1-{packages_total}"
    )
    pdf.facts(
        [
            ("Invoice No.", order.invoice_number),
            ("Buyer's PO / order No.", order.marketplace_order_id),
            *_shipping_facts(shipment),
            ("Country of origin", ORIGIN_COUNTRY),
            ("Shipping marks", marks),
        ]
    )
    pdf.set_font("Helvetica", "", 8)
    first = 1
    volume_cubic_mm = 0
    with pdf.table(
        col_widths=(20, 48, 20, 24, 16, 18, 18, 26),
        text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=4.5,
    ) as table:
        heading = table.row()
        for title in (
            "Package Nos.",
            "Contents",
            "HS code",
            "Units per package",
            "Packages",
            "Net kg",
            "Gross kg",
            "L x W x H cm",
        ):
            heading.cell(title)
        for line in order.lines:
            packing = line.packing
            count = line.packages
            last = first + count - 1
            remainder = line.quantity - (count - 1) * packing.units_per_package
            per_package = f"{packing.units_per_package:,} {line.unit}"
            if remainder != packing.units_per_package:
                per_package += f" (last: {remainder:,})"
            row = table.row()
            row.cell(f"{first}-{last}" if count > 1 else str(first))
            row.cell(latin1(f"{line.description} ({line.sku}), {line.quantity:,} {line.unit}"))
            row.cell(format_hs_code(line.hs_code))
            row.cell(per_package)
            row.cell(f"{count:,}")
            row.cell(kilograms(line.net_weight_grams))
            row.cell(kilograms(line.gross_weight_grams))
            row.cell(
                " x ".join(
                    centimetres(size)
                    for size in (
                        packing.package_length_mm,
                        packing.package_width_mm,
                        packing.package_height_mm,
                    )
                )
            )
            volume_cubic_mm += count * packing.package_volume_cubic_mm
            first = last + 1
    pdf.ln(2)
    net = sum(line.net_weight_grams for line in order.lines)
    gross = sum(line.gross_weight_grams for line in order.lines)
    pdf.facts(
        [
            ("Total packages", f"{packages_total:,}"),
            ("Total net weight", f"{kilograms(net)} kg"),
            ("Total gross weight", f"{kilograms(gross)} kg"),
            ("Total volume", f"{Decimal(volume_cubic_mm).scaleb(-9):,.3f} m3"),
        ]
    )
    pdf.paragraph(f"For {exporter.name}: authorised signatory")
    return bytes(pdf.output())
