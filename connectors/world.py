"""The synthetic world all four simulators serve.

A person is a pure function of (seed, index): `document(i)` names person i and
`index_of(document)` maps a synthetic document back to i, so a world of a million people costs
no memory until someone is asked for, and every look-up costs the same whatever the size.
Explicit facts (the scenario files' `facts` format) override or add people on top; the risk-area
list is world-wide, versioned for incremental sync.

One world is shared by the four simulators of a run, so it is consistent across sources: a
Macao resident has a Macao code *and* provincial NAT results, a driver has Hong Kong
declarations and is registered with the provincial platform.
"""

from __future__ import annotations

import copy
import json
import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from connectors.records import (
    Case,
    DocumentRef,
    DriverDeclaration,
    Entry,
    Flag,
    HongKongCode,
    HongKongFacts,
    Identity,
    Listing,
    MacaoCode,
    MacaoFacts,
    NationalFacts,
    NatTest,
    Person,
    ProvincialFacts,
    RiskArea,
    Trip,
    hongkong_from_json,
    macao_from_json,
    national_from_json,
    provincial_from_json,
    risk_areas_from_json,
)

CST = timezone(timedelta(hours=8))
SOURCES = ("provincial", "national", "macao", "hongkong")

# Synthetic mainland residents are registered in these counties. The scenario files use
# 440304 (Futian), which is deliberately absent, so synthetic and explicit people never collide.
_COUNTIES = (
    "440103", "440104", "440105", "440111", "440112", "440113", "440114", "440115",
    "440117", "440118", "440303", "440305", "440306", "440307", "440402", "440604",
    "440605", "441302", "441900", "442000",
)  # fmt: skip
_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_BIRTH_EPOCH = date(1950, 1, 1)
_BIRTH_ORDINAL = _BIRTH_EPOCH.toordinal()
# birth dates spread over _DAY_SPAN days from the epoch: day d of the population is born on
# d * _DAY_STEP mod _DAY_SPAN; the step is prime to the span, so each offset has one day
_DAY_SPAN = 27_000
_DAY_STEP = 367
_DAY_STEP_INVERSE = pow(_DAY_STEP, -1, _DAY_SPAN)
_MACAO_PREFIX = "7"
_HKID_PREFIX = "X"

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁"
_GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红梅鹏飞俊峰建国文辉嘉欣晓东"
_HK_SURNAMES = ("Chan", "Wong", "Lee", "Cheung", "Lau", "Ho", "Ng", "Leung", "Lam", "Tsang")
_HK_GIVEN = ("Tai", "Man", "Siu", "Ming", "Ka", "Wai", "Chi", "Kwok", "Yan", "Hoi")
LABS_RECOGNISED = ("GD-LAB-0001", "GD-LAB-0002", "GD-LAB-0003")
LAB_UNRECOGNISED = "GD-LAB-0777"
_ORIGINS = ("MYS", "SGP", "THA", "USA", "GBR", "JPN", "KOR", "AUS")
_PORTS = ("GUANGZHOU_BAIYUN", "SHENZHEN_BAOAN", "SHENZHEN_BAY", "ZHUHAI_GONGBEI", "HZMB")


def resident_id_check(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of GB 11643."""
    total = sum(int(d) * w for d, w in zip(first17, _RID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def hkid_check(prefix: str, digits: str) -> str:
    """Weighted mod-11 HKID check character."""
    padded = prefix.rjust(2)
    values = [36 if c == " " else ord(c) - 55 for c in padded] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    r = total % 11
    check = 0 if r == 0 else 11 - r
    return "A" if check == 10 else str(check)


def _kind(index: int) -> str:
    """What kind of person index i is: the proportions of the seed's population."""
    bucket = index % 100
    if bucket < 2:
        return "MACAO"
    if bucket < 4:
        return "HONGKONG"
    return "MAINLAND"


@dataclass
class _State:
    """What a world holds beyond the generated population; snapshotted for `reset`."""

    explicit: dict[DocumentRef, Person] = field(default_factory=dict)
    risk_areas: list[tuple[int, RiskArea]] = field(default_factory=list)  # (version, entry)
    outages: dict[DocumentRef, frozenset[str]] = field(default_factory=dict)


class World:
    """A seeded population plus explicit facts, shared by the simulators of one run."""

    def __init__(
        self,
        seed: int = 1,
        size: int = 10_000,
        now: datetime | None = None,
        risk_area_count: int = 200,
    ) -> None:
        if size < 0 or size >= 10_000_000:
            raise ValueError("size must be between 0 and 9,999,999")
        self.seed = seed
        self.size = size
        # Generated facts are placed relative to `now` (whole hours, CST), so a demo started
        # today shows current colours and a test with a fixed `now` is repeatable.
        anchor = (now or datetime.now(CST)).astimezone(CST)
        self.now = anchor.replace(minute=0, second=0, microsecond=0)
        self._lock = threading.Lock()
        self._state = _State()
        self._synthetic_areas = self._generate_risk_areas(risk_area_count)
        for area in self._synthetic_areas:
            self._append_risk_area(area)
        self._initial = copy.deepcopy(self._state)
        self._person = lru_cache(maxsize=65_536)(self._generate)

    # --- documents of the synthetic population ---------------------------------------------

    def document(self, index: int) -> DocumentRef:
        """The identity document of synthetic person `index`."""
        if not 0 <= index < self.size:
            raise IndexError(index)
        kind = _kind(index)
        if kind == "MACAO":
            return DocumentRef("MACAO_ID", f"{_MACAO_PREFIX}{index:07d}")
        if kind == "HONGKONG":
            prefix = _HKID_PREFIX + chr(ord("A") + index // 1_000_000)
            digits = f"{index % 1_000_000:06d}"
            return DocumentRef("HKID", prefix + digits + hkid_check(prefix, digits))
        county = _COUNTIES[index % len(_COUNTIES)]
        rest = index // len(_COUNTIES)
        birth = date.fromordinal(_BIRTH_ORDINAL + (rest // 1000) * _DAY_STEP % _DAY_SPAN)
        first17 = f"{county}{birth.year:04d}{birth.month:02d}{birth.day:02d}{rest % 1000:03d}"
        return DocumentRef("RESIDENT_ID", first17 + resident_id_check(first17))

    def index_of(self, doc: DocumentRef) -> int | None:
        """The index of a synthetic person's document, or None when it is not one."""
        number = doc.number
        index: int | None
        try:
            if doc.type == "MACAO_ID" and len(number) == 8 and number[0] == _MACAO_PREFIX:
                index = int(number[1:])
            elif doc.type == "HKID" and len(number) == 9 and number[0] == _HKID_PREFIX:
                index = (ord(number[1]) - ord("A")) * 1_000_000 + int(number[2:8])
            elif doc.type == "RESIDENT_ID" and len(number) == 18 and number[:6] in _COUNTIES:
                index = self._resident_index(number)
            else:
                return None
        except ValueError:
            return None
        if index is None or not 0 <= index < self.size:
            return None
        return index if self.document(index) == doc else None

    def _resident_index(self, number: str) -> int | None:
        county = _COUNTIES.index(number[:6])
        # the simulators answer this for every look-up: plain integers, not strptime
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        offset = birth.toordinal() - _BIRTH_ORDINAL
        if not 0 <= offset < _DAY_SPAN:
            return None
        # the day whose step lands on this offset: the step is invertible modulo the span
        day = offset * _DAY_STEP_INVERSE % _DAY_SPAN
        return (day * 1000 + int(number[14:17])) * len(_COUNTIES) + county

    # --- look-ups the simulators make ------------------------------------------------------

    def person(self, doc: DocumentRef) -> Person | None:
        """Everything known about a person, or None when no source has a record of them."""
        explicit = self._state.explicit.get(doc)
        if explicit is not None:
            return explicit
        index = self.index_of(doc)
        return None if index is None else self._person(index)

    def unavailable(self, doc: DocumentRef, source: str) -> bool:
        """True when `source` must fail requests about this person (a scenario's `unavailable`)."""
        return source in self._state.outages.get(doc, ())

    @property
    def risk_area_version(self) -> int:
        areas = self._state.risk_areas
        return areas[-1][0] if areas else 0

    def risk_area_changes(self, since_version: int = 0) -> list[tuple[int, RiskArea]]:
        """Entries of the risk-area list added after `since_version`, oldest first."""
        return [(v, a) for v, a in self._state.risk_areas if v > since_version]

    # --- explicit facts --------------------------------------------------------------------

    def put_person(self, person: Person) -> None:
        with self._lock:
            self._state.explicit[person.identity.document] = person
        self._person.cache_clear()

    def add_risk_area(self, area: RiskArea) -> None:
        """Append an entry to the national list (a new designation, lift or level change)."""
        with self._lock:
            self._append_risk_area(area)

    def set_unavailable(self, doc: DocumentRef, sources: Iterable[str]) -> None:
        with self._lock:
            self._state.outages[doc] = frozenset(sources)

    def load_scenario(self, scenario: Mapping[str, Any]) -> DocumentRef:
        """Add one scenario file's subject and facts; returns the subject's document."""
        subject = scenario["subject"]
        doc = DocumentRef.normalised(subject["document"]["type"], subject["document"]["number"])
        facts = scenario.get("facts", {})
        national = facts.get("national", {})
        person = Person(
            identity=Identity(doc, subject.get("name", ""), subject.get("phone")),
            provincial=provincial_from_json(facts.get("provincial", {})),
            national=national_from_json(national),
            macao=macao_from_json(facts.get("macao", {})),
            hongkong=hongkong_from_json(facts.get("hongkong", {})),
        )
        self.put_person(person)
        for area in risk_areas_from_json(national):
            if area not in (a for _, a in self._state.risk_areas):
                self.add_risk_area(area)
        if scenario.get("unavailable"):
            self.set_unavailable(doc, scenario["unavailable"])
        return doc

    def load_scenario_dir(self, directory: Path) -> list[dict[str, Any]]:
        """Load every `*.json` scenario in a directory; returns them parsed, in name order."""
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"no scenario directory at {directory}")
        scenarios = []
        for path in sorted(directory.glob("*.json")):
            scenario = json.loads(path.read_text(encoding="utf-8"))
            self.load_scenario(scenario)
            scenarios.append(scenario)
        return scenarios

    def mark_initial(self) -> None:
        """Make the current explicit facts part of the state `reset` returns to."""
        with self._lock:
            self._initial = copy.deepcopy(self._state)

    def reset(self) -> None:
        """Return to the initial world (generated people plus facts loaded before mark_initial)."""
        with self._lock:
            self._state = copy.deepcopy(self._initial)
        self._person.cache_clear()

    def _append_risk_area(self, area: RiskArea) -> None:
        self._state.risk_areas.append((self.risk_area_version + 1, area))

    # --- generation ------------------------------------------------------------------------

    def _generate_risk_areas(self, count: int) -> list[RiskArea]:
        rng = random.Random(f"{self.seed}:areas")
        areas = []
        for n in range(count):
            county = _COUNTIES[n % len(_COUNTIES)]
            code = f"{county}{100 + n // len(_COUNTIES):03d}"
            level = rng.choices(("HIGH", "MEDIUM", "LOW"), (3, 3, 4))[0]
            designated = self.now - timedelta(hours=rng.randint(24, 24 * 12))
            lifted = designated + timedelta(days=rng.randint(3, 20))
            lifted_by_now = lifted if lifted < self.now else None
            areas.append(RiskArea(code, f"Street {code}", level, designated, lifted_by_now))
        return areas

    def _generate(self, index: int) -> Person:
        rng = random.Random(f"{self.seed}:{index}")
        doc = self.document(index)
        kind = _kind(index)
        now = self.now

        def ago(min_hours: float, max_hours: float) -> datetime:
            return now - timedelta(minutes=rng.randint(int(min_hours * 60), int(max_hours * 60)))

        if kind == "HONGKONG":
            name = f"{rng.choice(_HK_SURNAMES)} {rng.choice(_HK_GIVEN)} {rng.choice(_HK_GIVEN)}"
        else:
            name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
        phone = "1" + rng.choice("3578") + "".join(rng.choices("0123456789", k=9))
        identity = Identity(doc, name, phone, doc.number[:6] if kind == "MAINLAND" else None)

        nat_tests: list[NatTest] = []
        for n in range(rng.choice((0, 1, 1, 2, 2, 3))):
            sampled = ago(2 + 30 * n, 30 + 30 * n)
            lab = rng.choice(LABS_RECOGNISED) if rng.random() < 0.95 else LAB_UNRECOGNISED
            recognised = () if lab == LAB_UNRECOGNISED else ("MACAO", "HONGKONG")
            nat_tests.append(
                NatTest(f"N{index}-{n}", sampled, sampled + timedelta(hours=rng.randint(4, 12)),
                        "NEGATIVE", lab, recognised)
            )  # fmt: skip
        nat_tests = [t for t in nat_tests if t.reported_at <= now]
        cases: list[Case] = []
        listings: list[Listing] = []
        entries: list[Entry] = []
        trips: list[Trip] = []
        flags: list[Flag] = []
        issuer = doc.number[:4] + "00" if kind == "MAINLAND" else "440400"

        u = rng.random()
        if u < 0.004:
            sampled = ago(24, 72)
            positive = NatTest(f"N{index}-P", sampled, sampled + timedelta(hours=8), "POSITIVE",
                               LABS_RECOGNISED[0], ("MACAO", "HONGKONG"))  # fmt: skip
            nat_tests.append(positive)
            if rng.random() < 0.5:
                cases.append(Case(f"C{index}", "CONFIRMED", sampled + timedelta(hours=10)))
        elif u < 0.015:
            exposure = ago(12, 24 * 9)
            listings.append(Listing(f"L{index}", "CLOSE_CONTACT", exposure + timedelta(hours=6),
                                    issuer, exposure))  # fmt: skip
        elif u < 0.020:
            exposure = ago(12, 24 * 6)
            listings.append(Listing(f"L{index}", "SECONDARY_CONTACT", exposure + timedelta(hours=6),
                                    issuer, exposure))  # fmt: skip
        elif u < 0.030:
            entries.append(Entry(f"E{index}", ago(6, 24 * 10), rng.choice(_PORTS[:2]),
                                 rng.choice(_ORIGINS)))  # fmt: skip
        elif u < 0.040:
            listings.append(Listing(f"L{index}", "KEY_SITE", ago(6, 48), issuer))
        elif u < 0.045:
            listings.append(Listing(f"L{index}", "FEVER_CLINIC", ago(2, 30), issuer))
        elif u < 0.060:
            area = rng.choice(self._synthetic_areas)
            end = area.lifted_at or now
            visit = area.designated_at + (end - area.designated_at) * rng.random()
            trips.append(Trip(area.area_code, visit.replace(microsecond=0)))
        elif u < 0.065:
            flags.append(Flag(f"F{index}", rng.choice(("410000", "420000", "310000")), "RED",
                              "pushed by another province", ago(6, 72)))  # fmt: skip
        if rng.random() < 0.05:
            assigned = ago(24 * 20, 24 * 60)
            listings.append(Listing(f"L{index}-R", "REGULAR_TESTING", assigned, issuer))
        if rng.random() < 0.05:
            trips.append(Trip(rng.choice(self._synthetic_areas).area_code, ago(24 * 30, 24 * 40)))

        macao = MacaoFacts()
        hongkong = HongKongFacts()
        if kind == "MACAO":
            if rng.random() < 0.5:
                entries.append(Entry(f"E{index}-M", ago(6, 24 * 5), "ZHUHAI_GONGBEI", "MAC"))
            macao = MacaoFacts(MacaoCode(rng.choices(("GREEN", "YELLOW", "RED"), (95, 4, 1))[0],
                                         ago(1, 24)))  # fmt: skip
        elif kind == "HONGKONG":
            code = HongKongCode(rng.choices(("GREEN", "YELLOW", "RED"), (95, 4, 1))[0], ago(0, 8))
            declarations: tuple[DriverDeclaration, ...] = ()
            status = None
            if index % 7 == 2:  # about one in seven Hong Kong residents drives goods vehicles
                status = rng.choices(("ACTIVE", "SUSPENDED", "REMOVED"), (90, 7, 3))[0]
                entered = ago(2, 24 * 3)
                exited = entered + timedelta(hours=rng.randint(6, 30))
                declarations = (
                    DriverDeclaration(f"D{index}", entered, rng.choice(_PORTS[2:]),
                                      f"ZG{index % 10_000:04d}",
                                      exited if exited <= now else None, "Shenzhen lodging"),
                )  # fmt: skip
            hongkong = HongKongFacts(code, declarations, status)

        return Person(
            identity=identity,
            provincial=ProvincialFacts(
                cases=tuple(cases),
                listings=tuple(listings),
                nat_tests=tuple(nat_tests),
                entries=tuple(entries),
            ),  # fmt: skip
            national=NationalFacts(trips=tuple(trips), flags=tuple(flags)),
            macao=macao,
            hongkong=hongkong,
        )
