"""identity.md: validation in a fixed order, normalisation, masking, keyed hashing."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.documents import (
    Document,
    DocumentType,
    InvalidDocument,
    mask_document,
    mask_name,
    mask_phone,
    parse_document,
    resident_check_character,
    subject_key,
)

TODAY = date(2022, 7, 10)


def test_a_document_asked_again_gets_the_same_answer_and_a_refusal_every_time() -> None:
    raw = _resident("440304" + TODAY.strftime("%Y%m%d") + "123")
    assert parse_document("RESIDENT_ID", raw, today=TODAY) == parse_document(
        "RESIDENT_ID", raw, today=TODAY
    )
    yesterday = TODAY - timedelta(days=1)  # born today: in the future as of yesterday
    for _ in range(2):
        with pytest.raises(InvalidDocument):
            parse_document("RESIDENT_ID", raw, today=yesterday)
    assert parse_document("RESIDENT_ID", raw, today=TODAY).number == raw


@pytest.mark.parametrize(
    ("kind", "raw", "number"),
    [
        pytest.param(
            "RESIDENT_ID",
            "11010519491231002X",
            "11010519491231002X",
            id="the standard's own example with check X is valid",
        ),
        pytest.param(
            "RESIDENT_ID",
            "440524188001010014",
            "440524188001010014",
            id="the standard's own example born 1880 is valid",
        ),
        pytest.param(
            "RESIDENT_ID",
            "440304199003075011",
            "440304199003075011",
            id="a Shenzhen resident ID with check 1 is valid",
        ),
        pytest.param(
            "RESIDENT_ID",
            "440106198507122464",
            "440106198507122464",
            id="a Guangzhou resident ID with check 4 is valid",
        ),
        pytest.param(
            "RESIDENT_ID",
            "440402200002291239",
            "440402200002291239",
            id="29 February 2000 is a real birth date",
        ),
        pytest.param(
            "RESIDENT_ID",
            "810000199408230021",
            "810000199408230021",
            id="a Hong Kong residence permit is a valid resident ID",
        ),
        pytest.param("HKID", "A123456(3)", "A1234563", id="HKID A123456(3) is valid"),
        pytest.param("HKID", "Z437626(A)", "Z437626A", id="HKID Z437626(A) with check A is valid"),
        pytest.param("HKID", "AB987654(3)", "AB9876543", id="a two-letter HKID is valid"),
        pytest.param("HKID", "G123456(A)", "G123456A", id="HKID G123456(A) is valid"),
        pytest.param("MACAO_ID", "1234567(8)", "12345678", id="a Macao ID starting with 1"),
        pytest.param("MACAO_ID", "5215299(8)", "52152998", id="a Macao ID starting with 5"),
        pytest.param("MACAO_ID", "7123456(0)", "71234560", id="a Macao ID starting with 7"),
        pytest.param(
            "HOME_RETURN_PERMIT", "H12345678", "H12345678", id="a 9-character Home Return Permit"
        ),
        pytest.param(
            "HOME_RETURN_PERMIT",
            "M1234567801",
            "M12345678",
            id="a Home Return Permit drops its 2-digit issue count",
        ),
        pytest.param("TAIWAN_PERMIT", "12345678", "12345678", id="a Taiwan permit is 8 digits"),
        pytest.param("PASSPORT", "GBR:123456789", "GBR:123456789", id="a British passport"),
        pytest.param("PASSPORT", "usa:a1234", "USA:A1234", id="a passport number of 5 is valid"),
    ],
)
def test_valid_documents(kind: str, raw: str, number: str) -> None:
    document = parse_document(kind, raw, today=TODAY)
    assert document == Document(DocumentType(kind), number)
    assert document.key == f"{kind}:{number}"


@pytest.mark.parametrize(
    ("kind", "raw", "rule"),
    [
        pytest.param(
            "RESIDENT_ID",
            "440304199003075012",
            "check",
            id="a wrong resident ID check character fails the check rule",
        ),
        pytest.param("RESIDENT_ID", "440106199902301231", "date", id="30 February is not a date"),
        pytest.param("RESIDENT_ID", "440106199913011231", "date", id="month 13 is not a date"),
        pytest.param("HKID", "C876300(0)", "check", id="HKID C876300(0) should end in 1"),
        pytest.param("DRIVING_LICENCE", "440304199003075011", "type", id="an unknown type"),
        pytest.param("RESIDENT_ID", "44030419900307501", "format", id="17 characters"),
        pytest.param("RESIDENT_ID", "4403041990030750111", "format", id="19 characters"),
        pytest.param("RESIDENT_ID", "44030419900307501Y", "format", id="a check Y"),
        pytest.param("HKID", "123456(7)", "format", id="an HKID without letters"),
        pytest.param("HKID", "ABC123456(7)", "format", id="an HKID with three letters"),
        pytest.param("HKID", "A123456(B)", "format", id="an HKID check B is not 0-9 or A"),
        pytest.param("MACAO_ID", "2234567(8)", "format", id="a Macao ID starting with 2"),
        pytest.param("MACAO_ID", "123456(7)", "format", id="a Macao ID of 7 digits"),
        pytest.param("HOME_RETURN_PERMIT", "X12345678", "format", id="a permit starting with X"),
        pytest.param(
            "HOME_RETURN_PERMIT", "H123456789", "format", id="a permit with a 1-digit issue count"
        ),
        pytest.param("TAIWAN_PERMIT", "1234567", "format", id="a Taiwan permit of 7 digits"),
        pytest.param("PASSPORT", "GB:123456", "format", id="a 2-letter passport country"),
        pytest.param("PASSPORT", "GBR:1234", "format", id="a passport number of 4"),
        pytest.param("PASSPORT", "GBR:1234567890", "format", id="a passport number of 10"),
        pytest.param("PASSPORT", "123456789", "format", id="a passport without a country"),
    ],
)
def test_invalid_documents_name_the_failed_rule(kind: str, raw: str, rule: str) -> None:
    with pytest.raises(InvalidDocument) as raised:
        parse_document(kind, raw, today=TODAY)
    assert raised.value.rule == rule
    assert rule in str(raised.value).lower()  # the message says which rule failed
    digits = "".join(ch for ch in raw if ch.isalnum())
    assert digits not in str(raised.value)  # the number is personal data: never echoed


def _resident(body17: str) -> str:
    return body17 + resident_check_character(body17)


@pytest.mark.parametrize(
    ("kind", "raw", "rule"),
    [
        pytest.param(
            "PASSPORT_OF_MARS",
            "not even close",
            "type",
            id="an unknown type is named before a bad format",
        ),
        pytest.param(
            "RESIDENT_ID",
            "440106199902301230",
            "date",
            id="a bad date is named before a bad check character",
        ),
        pytest.param(
            "RESIDENT_ID",
            "44010619990230123",
            "format",
            id="a bad format is named before a bad date",
        ),
        pytest.param(
            "RESIDENT_ID",
            _resident("44030420300101123"),
            "date",
            id="a birth date after today fails the date rule",
        ),
    ],
)
def test_the_first_failing_check_is_the_one_named(kind: str, raw: str, rule: str) -> None:
    with pytest.raises(InvalidDocument) as raised:
        parse_document(kind, raw, today=TODAY)
    assert raised.value.rule == rule


def test_a_birth_date_of_today_is_not_in_the_future() -> None:
    raw = _resident("440304" + TODAY.strftime("%Y%m%d") + "123")
    assert parse_document("RESIDENT_ID", raw, today=TODAY).number == raw


@pytest.mark.parametrize(
    ("kind", "raw", "number"),
    [
        pytest.param("HKID", "a123456(3)", "A1234563", id="lower case is raised"),
        pytest.param("HKID", " A 123456 (3) ", "A1234563", id="spaces are removed"),
        pytest.param("HKID", "A123456（3）", "A1234563", id="full-width brackets are removed"),
        pytest.param(
            "RESIDENT_ID",
            "11010519491231002x",
            "11010519491231002X",
            id="a lower-case check x is raised",
        ),
        pytest.param(
            "RESIDENT_ID",
            "440304 19900307 5011",
            "440304199003075011",
            id="a resident ID typed in groups",
        ),
        pytest.param(
            "HOME_RETURN_PERMIT",
            "h 12345678 03",
            "H12345678",
            id="a permit in lower case with spaces drops its issue count",
        ),
        pytest.param(
            "resident_id",
            "440304199003075011",
            "440304199003075011",
            id="the type is matched without regard to case",
        ),
    ],
)
def test_normalisation(kind: str, raw: str, number: str) -> None:
    assert parse_document(kind, raw, today=TODAY).number == number


def test_permits_with_and_without_issue_count_are_one_identity() -> None:
    a = parse_document("HOME_RETURN_PERMIT", "H1234567801", today=TODAY)
    b = parse_document("HOME_RETURN_PERMIT", "H1234567802", today=TODAY)
    assert a == b
    assert subject_key(a, b"k") == subject_key(b, b"k")


# --- keyed hashing ----------------------------------------------------------------------------

DOC = Document(DocumentType.RESIDENT_ID, "440304199003075011")


def test_subject_key_is_hmac_sha256_of_type_and_number() -> None:
    expected = hmac.new(b"secret", b"RESIDENT_ID:440304199003075011", hashlib.sha256).hexdigest()
    assert subject_key(DOC, b"secret") == expected
    assert len(expected) == 64


def test_subject_key_depends_on_the_secret_and_hides_the_number() -> None:
    assert subject_key(DOC, b"one") != subject_key(DOC, b"two")
    assert DOC.number not in subject_key(DOC, b"one")
    assert subject_key(DOC, b"one") != hashlib.sha256(DOC.key.encode()).hexdigest()


def test_subject_key_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError):
        subject_key(DOC, b"")


# --- masking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        pytest.param("张三丰", "张*丰", id="a three-character name keeps first and last"),
        pytest.param("欧阳娜娜", "欧**娜", id="a four-character name keeps first and last"),
        pytest.param("李四", "*四", id="a two-character name masks the first"),
        pytest.param("李", "*", id="a one-character name is masked entirely"),
        pytest.param("Chan Tai Man", "C*** T** M**", id="a Latin name keeps each word's initial"),
        pytest.param("Madonna", "M******", id="a one-word Latin name keeps its initial"),
        pytest.param("", "", id="an empty name stays empty"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("kind", "number", "masked"),
    [
        pytest.param(
            "RESIDENT_ID",
            "440304199003075011",
            "4403**********5011",
            id="a resident ID keeps the first 4 and last 4",
        ),
        pytest.param(
            "HKID", "A1234563", "A******(3)", id="an HKID keeps its letter and check character"
        ),
        pytest.param(
            "HKID",
            "AB9876543",
            "AB******(3)",
            id="a two-letter HKID keeps both letters and the check character",
        ),
        pytest.param(
            "MACAO_ID",
            "12345678",
            "12****78",
            id="a short number keeps a quarter at each end, not 4 and 4",
        ),
        pytest.param(
            "HOME_RETURN_PERMIT",
            "H12345678",
            "H1*****78",
            id="a Home Return Permit keeps two at each end",
        ),
        pytest.param(
            "PASSPORT",
            "GBR:123456789",
            "GBR:12*****89",
            id="a passport keeps its country and two at each end of the number",
        ),
    ],
)
def test_mask_document(kind: str, number: str, masked: str) -> None:
    assert mask_document(Document(DocumentType(kind), number)) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        pytest.param("13812345678", "138****5678", id="a mainland mobile keeps 3 and 4"),
        pytest.param("138 1234 5678", "138****5678", id="a phone typed in groups"),
        pytest.param("91234567", "91****67", id="an 8-digit Hong Kong number keeps 2 and 2"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def _only_kept_positions_revealed(original: str, masked: str, kept: set[int]) -> None:
    assert len(masked) == len(original)
    for index, (before, after) in enumerate(zip(original, masked, strict=True)):
        assert after == (before if index in kept else "*")


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


@given(st.text(alphabet=CJK, min_size=1, max_size=8))
def test_a_chinese_name_reveals_only_first_and_last(name: str) -> None:
    n = len(name)
    kept = {0, n - 1} if n > 2 else {1} if n == 2 else set()
    _only_kept_positions_revealed(name, mask_name(name), kept)


@given(
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ", min_size=1, max_size=9),
        min_size=1,
        max_size=4,
    )
)
def test_a_latin_name_reveals_only_initials(words: list[str]) -> None:
    name = " ".join(words)
    starts = {0} | {i + 1 for i, ch in enumerate(name) if ch == " "}
    spaces = {i for i, ch in enumerate(name) if ch == " "}
    _only_kept_positions_revealed(name, mask_name(name), starts | spaces)


DIGITS = "0123456789"


@given(st.text(alphabet=DIGITS, min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_a_resident_id_hides_its_middle_ten(body: str, check: str) -> None:
    number = body + check
    masked = mask_document(Document(DocumentType.RESIDENT_ID, number))
    _only_kept_positions_revealed(number, masked, {0, 1, 2, 3, 14, 15, 16, 17})


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=2),
    st.text(alphabet=DIGITS, min_size=6, max_size=6),
    st.sampled_from("0123456789A"),
)
def test_an_hkid_hides_all_six_digits(letters: str, digits: str, check: str) -> None:
    masked = mask_document(Document(DocumentType.HKID, letters + digits + check))
    assert masked == letters + "******" + f"({check})"


@given(
    st.sampled_from(
        [DocumentType.MACAO_ID, DocumentType.TAIWAN_PERMIT, DocumentType.HOME_RETURN_PERMIT]
    ),
    st.text(alphabet=DIGITS, min_size=8, max_size=8),
)
def test_a_short_number_hides_at_least_half(kind: DocumentType, digits: str) -> None:
    number = ("H" + digits) if kind is DocumentType.HOME_RETURN_PERMIT else digits
    masked = mask_document(Document(kind, number))
    keep = len(number) // 4
    kept = set(range(keep)) | set(range(len(number) - keep, len(number)))
    _only_kept_positions_revealed(number, masked, kept)
    assert masked.count("*") * 2 >= len(number)


@given(st.text(alphabet=DIGITS, min_size=5, max_size=15))
def test_a_phone_reveals_only_its_ends(phone: str) -> None:
    n = len(phone)
    head, tail = (3, 4) if n >= 11 else (n // 4, n // 4)
    kept = set(range(head)) | set(range(n - tail, n))
    _only_kept_positions_revealed(phone, mask_phone(phone), kept)
