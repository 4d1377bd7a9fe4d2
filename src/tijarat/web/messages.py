"""Translatable text the dashboard shows for codes: refusals, ISO 20022 reasons, statuses.

The contexts explain refusals in English (DomainError.message) with a stable code; here the
codes a dashboard user meets get a sentence the catalogs translate. A code not listed falls
back to the context's own English message, so nothing is ever hidden.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention Babel's extractor knows
    """Mark text for the catalogs without translating it here (translated when shown)."""
    return message


ERRORS: dict[str, str] = {
    "web_sign_in_failed": N_("Wrong username or password."),
    "web_sign_in_locked": N_("Too many failed sign-ins. Try again in a few minutes."),
    "web_csrf_failed": N_("This form has expired. Reload the page and try again."),
    "web_forbidden": N_("This page is not for your account."),
    "web_form_invalid": N_("Some fields are missing or too long."),
    "web_upload_invalid": N_("The file could not be read."),
    "web_not_found": N_("Not found."),
    "invalid_amount": N_('Enter an amount such as "1,250.50".'),
    "amount_precision": N_("Rupee amounts have at most two decimal places."),
    "amount_out_of_range": N_("That amount is too large."),
    "invalid_iban": N_("That IBAN is not valid (24 characters, starting PK)."),
    "invalid_mobile_number": N_("That mobile number is not valid (03XX XXXXXXX)."),
    "invalid_cnic": N_("That CNIC is not valid (12345-1234567-1)."),
    "switch_participant_not_found": N_("No such participant."),
    "switch_participant_exists": N_("That participant code is taken."),
    "switch_participant_invalid": N_("The participant details are not valid."),
    "switch_bank_code_taken": N_("That bank code belongs to another participant."),
    "switch_sponsor_required": N_("An indirect participant needs a sponsor."),
    "switch_insufficient_liquidity": N_("The settlement position does not cover this."),
    "switch_amount_invalid": N_("Liquidity moves in positive rupee amounts."),
    "switch_payment_not_found": N_("No such payment."),
    "switch_message_not_found": N_("No such message."),
    "switch_alias_not_found": N_("No account is linked to that Raast ID."),
    "switch_participant_suspended": N_("The payment institution is suspended."),
    "web_days_invalid": N_("Days to pay is a whole number from 1 to 90."),
    "wallet_amount_invalid": N_("Enter an amount more than zero."),
    "wallet_same_account": N_("That is your own Raast ID."),
    "wallet_request_invalid": N_("The request to pay is not valid."),
    "switch_request_invalid": N_("The request to pay is not valid."),
}

# ISO 20022 status reasons (ExternalStatusReason1Code) in plain words.
REASONS: dict[str, str] = {
    "AC01": N_("incorrect account number"),
    "AC03": N_("unknown creditor account or Raast ID"),
    "AC04": N_("closed account"),
    "AC06": N_("blocked account"),
    "AG01": N_("transaction forbidden"),
    "AM02": N_("amount not allowed"),
    "AM04": N_("insufficient funds"),
    "AM05": N_("duplicate"),
    "DUPL": N_("duplicate payment"),
    "BE01": N_("inconsistent with end customer"),
    "RR04": N_("regulatory reason"),
    "AB05": N_("timeout at the receiving institution"),
    "AB06": N_("timeout at the instructed agent"),
    "FF01": N_("invalid format"),
    "CUST": N_("requested by the customer"),
    "MD06": N_("refund requested by the customer"),
    "FOCR": N_("following a cancellation request"),
}

PAYMENT_STATUSES: dict[str, str] = {
    "ACSC": N_("settled"),
    "PDNG": N_("pending"),
    "RJCT": N_("rejected"),
}

PARTICIPANT_CATEGORIES: dict[str, str] = {
    "direct_settlement": N_("direct settlement"),
    "direct_non_settlement": N_("direct non-settlement"),
    "payment_initiation_service_provider": N_("payment initiation provider"),
    "indirect": N_("indirect (through a sponsor)"),
}

MOVEMENT_KINDS: dict[str, str] = {
    "deposit": N_("cash in"),
    "withdrawal": N_("cash out"),
    "internal": N_("payment"),
    "raast_out": N_("Raast payment"),
    "raast_in": N_("Raast payment received"),
    "merchant": N_("QR payment"),
    "request": N_("request to pay"),
    "payout": N_("bulk payout"),
    "fee": N_("fee"),
    "fx": N_("currency exchange"),
    "return_out": N_("refund sent"),
    "return_in": N_("refund received"),
    "proceeds": N_("export proceeds"),
    "adjustment": N_("adjustment"),
}

MOVEMENT_STATUSES: dict[str, str] = {
    "pending": N_("pending"),
    "completed": N_("completed"),
    "failed": N_("failed"),
    "settled": N_("settled"),
    "rejected": N_("rejected"),
}

# Statuses of orders, purchase orders, bills, matches, proceeds and shipments, in words.
WORDS: dict[str, str] = {
    "received": N_("received"),
    "confirmed": N_("confirmed"),
    "awaiting_payment": N_("awaiting payment"),
    "paid": N_("paid"),
    "packed": N_("packed"),
    "shipped": N_("shipped"),
    "delivered": N_("delivered"),
    "completed": N_("completed"),
    "cancelled": N_("cancelled"),
    "disputed": N_("disputed"),
    "refunded": N_("refunded"),
    "partially_refunded": N_("partly refunded"),
    "draft": N_("draft"),
    "sent": N_("sent"),
    "partially_received": N_("partly received"),
    "billed": N_("billed"),
    "open": N_("open"),
    "rejected": N_("rejected"),
    "expired": N_("expired"),
    "paying": N_("paying"),
    "unmatched": N_("not checked"),
    "matched": N_("matches"),
    "mismatched": N_("does not match"),
    "awaiting_shipment": N_("awaiting shipment"),
    "outstanding": N_("outstanding"),
    "realised": N_("realised"),
    "InfoReceived": N_("carrier informed"),
    "InTransit": N_("in transit"),
    "OutForDelivery": N_("out for delivery"),
    "AttemptFail": N_("delivery attempt failed"),
    "Delivered": N_("delivered"),
    "AvailableForPickup": N_("ready for pickup"),
    "Exception": N_("problem in transit"),
    "Expired": N_("tracking expired"),
    "Pending": N_("pending"),
}

ORDER_STEPS: dict[str, str] = {
    "confirm": N_("Confirm (reserve stock)"),
    "request_payment": N_("Ask the buyer to pay"),
    "pack": N_("Mark packed"),
    "deliver": N_("Mark delivered"),
}
