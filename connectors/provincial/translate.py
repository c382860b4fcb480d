"""The one translation between the provincial wire vocabulary and the neutral records.

Both directions sit side by side so they cannot drift: `*_from_wire` is what the connector
uses, `*_to_wire` is what the simulator serves. A round trip records -> wire -> records is exact
for instants with whole seconds (the wire has no sub-second precision).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.provincial.models import HealthRecordEntry, ResidentEntry, format_time
from connectors.records import (
    AntibodyTest,
    Case,
    DocumentRef,
    Entry,
    HealthCertificate,
    Identity,
    Listing,
    NatTest,
    ProvincialFacts,
)

# the platform spells antibody isotypes as upper-case codes; the neutral records as immunologists do
_ISOTYPE_FROM_WIRE = {"IGG": "IgG", "IGM": "IgM"}
_ISOTYPE_TO_WIRE = {v: k for k, v in _ISOTYPE_FROM_WIRE.items()}


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


# --- real-name registration ------------------------------------------------------------------


def identity_from_wire(doc: DocumentRef, entry: ResidentEntry) -> Identity | None:
    """A registration, or None when the document is not registered with the platform."""
    if not entry.found:
        return None
    assert entry.name is not None  # the model refuses a registered resident without a name
    return Identity(doc, entry.name, entry.phone, entry.household_region)


def identity_to_wire(doc_type: str, doc_no: str, identity: Identity | None) -> dict[str, Any]:
    if identity is None:
        return {"doc_type": doc_type, "doc_no": doc_no, "found": False}
    return {
        "doc_type": doc_type,
        "doc_no": doc_no,
        "found": True,
        "name": identity.name,
        "phone": identity.phone,
        "household_region": identity.region,
    }


# --- health records --------------------------------------------------------------------------


def facts_from_wire(entry: HealthRecordEntry) -> ProvincialFacts | None:
    """Everything the platform holds about a document, or None when it is not registered."""
    if not entry.found:
        return None
    return ProvincialFacts(
        cases=tuple(
            Case(c.case_id, c.case_type, c.diagnosed_time, c.discharged_time) for c in entry.cases
        ),
        listings=tuple(
            Listing(
                item.listing_id,
                item.category,
                item.assigned_time,
                item.issuer_city,
                item.last_exposure_time,
            )
            for item in entry.listings
        ),
        nat_tests=tuple(
            NatTest(
                t.report_id,
                t.sampling_time,
                t.report_time,
                t.result,
                t.institution_code,
                tuple(t.recognised_by),
            )
            for t in entry.nat_results
        ),
        antibody_tests=tuple(
            AntibodyTest(
                t.report_id,
                t.sampling_time,
                t.report_time,
                _ISOTYPE_FROM_WIRE[t.isotype],
                t.result,
            )
            for t in entry.antibody_results
        ),
        entries=tuple(
            Entry(e.entry_id, e.entry_time, e.entry_port, e.origin_country)
            for e in entry.overseas_entries
        ),
        health_certificates=tuple(
            HealthCertificate(
                h.certificate_id, h.certificate_type, h.issue_time, h.expire_time, h.status
            )
            for h in entry.health_certificates
        ),  # fmt: skip
    )


def facts_to_wire(doc_type: str, doc_no: str, facts: ProvincialFacts | None) -> dict[str, Any]:
    if facts is None:
        return {"doc_type": doc_type, "doc_no": doc_no, "found": False}
    return {
        "doc_type": doc_type,
        "doc_no": doc_no,
        "found": True,
        "cases": [
            {
                "case_id": c.id,
                "case_type": c.status,
                "diagnosed_time": format_time(c.diagnosed_at),
                "discharged_time": _time(c.discharged_at),
            }
            for c in facts.cases
        ],
        "listings": [
            {
                "listing_id": item.id,
                "category": item.category,
                "assigned_time": format_time(item.assigned_at),
                "last_exposure_time": _time(item.last_exposure_at),
                "issuer_city": item.issuer,
            }
            for item in facts.listings
        ],
        "nat_results": [
            {
                "report_id": t.id,
                "sampling_time": format_time(t.sampled_at),
                "report_time": format_time(t.reported_at),
                "result": t.result,
                "institution_code": t.institution,
                "recognised_by": list(t.recognised_by),
            }
            for t in facts.nat_tests
        ],
        "antibody_results": [
            {
                "report_id": t.id,
                "sampling_time": format_time(t.sampled_at),
                "report_time": format_time(t.reported_at),
                "isotype": _ISOTYPE_TO_WIRE.get(t.isotype, t.isotype.upper()),
                "result": t.result,
            }
            for t in facts.antibody_tests
        ],
        "overseas_entries": [
            {
                "entry_id": e.id,
                "entry_port": e.port,
                "entry_time": format_time(e.entered_at),
                "origin_country": e.origin,
            }
            for e in facts.entries
        ],
        "health_certificates": [
            {
                "certificate_id": h.id,
                "certificate_type": h.kind,
                "issue_time": format_time(h.issued_at),
                "expire_time": _time(h.expires_at),
                "status": h.status,
            }
            for h in facts.health_certificates
        ],
    }
