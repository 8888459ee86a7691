"""Edit checks that keep personal data out of codes, free text and field names.

The trial store holds pseudonymous data only: people are known by study codes, never by name,
contact details, health-service numbers or dates of birth. :func:`code_problems` checks
participant, user and site codes (rules ``code.*``), :func:`text_problems` free text such as
adverse-event terms and causes of death (``text.*``), :func:`field_name_problems` the names of
submitted fields (``field.identifying``).

Why hand-written: no maintained Python library checks *study codes and clinical free text* for
identifiers in this way. Microsoft's ``presidio-analyzer`` finds names through spaCy models that
are downloaded from a model hub at run time, which this project cannot rely on (and its
recognisers are tuned for prose, not codes such as ``S01-0042``); ``scrubadub`` likewise needs
NLTK/spaCy data for names and was last released in 2023; ``commonregex`` is unmaintained
(2014). ``phonenumbers`` validates dialable numbers of a given region, whereas a code or a note
must be refused for anything *shaped* like a phone number, dialable or not. ``python-stdnum``
(pure Python) validates NHS, US SSN and Chinese resident identity numbers; the two checksums
needed here are a few lines each, written out below with their references.

Decisions on borderline cases:

* Free text may hold dates (``"2026-01-05"``); only a full date next to a birth cue (born,
  DOB, d.o.b., birth, date of birth) is refused. A year of birth alone is not.
* ``"Dr's decision to stop"`` passes: a title counts only when a capitalised word follows it
  after a space (``"Dr Smith"``). Titles are case-sensitive, so ``"MR elastography"`` and
  ``"MS"`` (multiple sclerosis) are not titles.
* Plain digit runs of 7-8 digits in free text (``"HBV DNA 1200000 IU/mL"``) and numbers
  grouped in thousands (``"1 200 000"``) are lab values, not phone numbers; runs of 9 or more
  digits are refused as possible health-service or hospital numbers.
* In codes, 7 or more digits once separators are ignored are refused as a phone number
  (``"S001-0234"`` too); zero-padded short codes (``"0042"``) stay valid, so a leading ``00``
  counts as an international prefix only through that 7-digit rule.
* Name-like codes need a capitalised word (``"John-Smith"``) or an initial and surname
  (``"j.smith"``); words of study vocabulary (site, arm, control, ...) are never names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from typing import Final

from hepatrial.exceptions import Problem, ProtocolError

_WHY: Final = "the trial store keeps pseudonymous data only"
_EXAMPLE: Final = "S01-0042"
_CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_CODE_MAX: Final = 40
_IDENTIFYING: Final = tuple(
    "name initials email e_mail phone mobile address postcode zip birth dob nhs mrn medical_record "
    "hospital_number ssn social_security passport national_id insurance".split()
)
# Words of study codes and site names that are never a person's name ("Site-Beijing").
_STUDY_WORDS: Final = frozenset(
    "site arm group control placebo active treatment visit centre center unit hospital clinic "
    "infirmary royal general university ward cohort stratum block pilot test demo trial study "
    "screen screening baseline week day month admin user investigator coordinator monitor "
    "pharmacy lab north south east west central high low dose standard usual care sham".split()
)
# Capitalised words that follow "patient" or "called" without being a name.
_NOT_NAMES: Final = frozenset(
    "Reported Global Information Consent Declined Withdrew Died Diary Safety Group Number".split()
)
# Qualifiers of "name:" that name a thing, not a person ("Drug name: Tacrolimus").
_NAMED_THINGS: Final = frozenset(
    "drug trade product brand generic site hospital study trial device centre center unit".split()
)
_MONTHS: Final = {
    m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
}
_MONTH: Final = (
    r"(?P<mo>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])"
)
_ORDINAL: Final = r"(?:st|nd|rd|th)?"
_ISO: Final = re.compile(
    r"(?<!\d)(?P<y>\d{4})(?P<s>[-/.])(?P<mo>\d{1,2})(?P=s)(?P<d>\d{1,2})(?!\d)"
)
_NUMERIC: Final = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})(?P<s>[-/.])(?P<mo>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})(?!\d)"
)
_COMPACT: Final = re.compile(r"(?<!\d)(?:\d{6}|\d{8})(?!\d)")
_DAY_MONTH: Final = re.compile(
    rf"(?<!\d)(?P<d>\d{{1,2}}){_ORDINAL}[\s./-]?{_MONTH}\.?[\s./,-]{{0,2}}(?P<y>\d{{4}}|\d{{2}})(?!\d)",
    re.IGNORECASE | re.ASCII,  # ASCII: no Unicode case folding of month names ("ſep")
)
_MONTH_DAY: Final = re.compile(
    rf"(?<![a-z]){_MONTH}\.?(?P<s>[\s/-])(?P<d>\d{{1,2}}){_ORDINAL}(?:,\s?|(?P=s))(?P<y>\d{{4}})(?!\d)",
    re.IGNORECASE | re.ASCII,  # ASCII: no Unicode case folding of month names ("ſep")
)
_EMAIL: Final = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*")
_SSN: Final = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")
_NHS: Final = re.compile(r"(?<!\d)\d(?:[\s.-]?\d){9}(?!\d)")
_CHINESE_ID: Final = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])")
_DIGIT_RUN: Final = re.compile(r"\d{9,}")
_PHONE: Final = re.compile(
    r"(?<![\w.+])(?:(?P<prefix>\+\s?\d{1,3}|00\d{1,3}|\(\d{2,5}\))[\s.-]?)?"
    r"\d{2,}(?:[\s.-]\d{2,})*(?!\w)"
)
_THOUSANDS: Final = re.compile(r"\d{1,3}(?:[ .]\d{3})+")
_BIRTH_CUE: Final = re.compile(
    r"(?<![a-z])(?:date\s+of\s+birth|born|d\.o\.b\.?|dob|birth\w*)(?![a-z])", re.IGNORECASE
)
_NEAR: Final = 30  # characters between a birth cue and a date
_NAME: Final = r"(?P<name>[A-Z](?:'[A-Z])?[a-z][A-Za-z-]*)"
_TITLE: Final = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor)\.?\s+{_NAME}")
_NAME_CUE: Final = re.compile(
    rf"(?:\b(?:[Pp]atient|[Cc]alled|[Nn]amed)\s+|(?:\b(?P<what>[A-Za-z]+)\s+)?\b[Nn]ame\s*[:=]\s*)"
    rf"{_NAME}"
)

Finding = tuple[str, str]
"""What a value looks like (``"a phone number"``) and the fragment that looks like it."""


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _year(text: str) -> int | None:
    """A two-digit year as 2000 (a leap year, so 29 February passes); four digits 1900-2099."""
    year = int(text)
    if len(text) == 2:
        return 2000
    return year if 1900 <= year <= 2099 else None


def _numeric_date(match: re.Match[str]) -> bool:
    """Day-month-year or month-day-year: either reading that is a real date counts."""
    year, first, second = _year(match["y"]), int(match["d"]), int(match["mo"])
    return year is not None and (_is_date(year, second, first) or _is_date(year, first, second))


def _compact_date(match: re.Match[str]) -> bool:
    """Six digits as DDMMYY; eight as YYYYMMDD or DDMMYYYY."""
    s = match[0]
    if len(s) == 6:
        return _is_date(2000, int(s[2:4]), int(s[:2]))
    year_first, year_last = _year(s[:4]), _year(s[4:])
    return (year_first is not None and _is_date(year_first, int(s[4:6]), int(s[6:]))) or (
        year_last is not None and _is_date(year_last, int(s[2:4]), int(s[:2]))
    )


def _calendar_date(match: re.Match[str]) -> bool:
    """Year-month-day, with the month as a number or a name (``Jan``, ``January``)."""
    year, month = _year(match["y"]), match["mo"]
    number = int(month) if month.isdigit() else _MONTHS[month[:3].lower()]
    return year is not None and _is_date(year, number, int(match["d"]))


_DATE_FORMS: Final[tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], bool]], ...]] = (
    *((form, _calendar_date) for form in (_ISO, _DAY_MONTH, _MONTH_DAY)),
    *((_NUMERIC, _numeric_date), (_COMPACT, _compact_date)),
)


def _date_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds a real calendar date, in any of the common written forms."""
    return [m.span() for form, valid in _DATE_FORMS for m in form.finditer(text) if valid(m)]


def _without_dates(text: str) -> str:
    """``text`` with its dates blanked out, so that a date is not also read as a phone number."""
    for start, end in _date_spans(text):
        text = text[:start] + "#" * (end - start) + text[end:]
    return text


def _date(text: str) -> Finding | None:
    spans = _date_spans(text)
    return ("a date", text[slice(*spans[0])]) if spans else None


def _email(text: str) -> Finding | None:
    match = _EMAIL.search(text)
    return ("an e-mail address", match[0]) if match else None


def _nhs_number_valid(digits: str) -> bool:
    """UK NHS number modulus 11: weights 10..2 on digits 1-9; check = 11 - sum mod 11 (11 -> 0).

    A remainder giving check 10 makes the number invalid (NHS Data Dictionary, "NHS Number").
    """
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return check != 10 and check == int(digits[9])


def _chinese_id_valid(number: str) -> bool:
    """ISO 7064 MOD 11-2 (GB 11643-1999): weights 2^(17-i) mod 11; check '10X98765432'[sum % 11]."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(number[:17]))
    return "10X98765432"[total % 11] == number[17].upper()


def _national_id(text: str) -> Finding | None:
    """An NHS number (any spacing), a Chinese resident ID, a US SSN or 9+ digits in a row."""
    text = _without_dates(text)
    for match in _NHS.finditer(text):
        if _nhs_number_valid(re.sub(r"\D", "", match[0])):
            return "an NHS number", match[0]
    for match in _CHINESE_ID.finditer(text):
        if _chinese_id_valid(match[0]):
            return "a Chinese resident identity number", match[0]
    if ssn := _SSN.search(text):
        return "a US social security number", ssn[0]
    if run := _DIGIT_RUN.search(text):
        return f"a health-service, hospital or national number ({len(run[0])} digits)", run[0]
    return None


def _code_phone(code: str) -> Finding | None:
    """A leading ``+`` and a digit, or 7+ digits once ``+ ( ) - .`` and spaces are ignored."""
    text = _without_dates(code)
    if re.match(r"\+\s*\(?\d", text) or re.search(r"\d{7,}", re.sub(r"[\s+().-]", "", text)):
        return "a phone number", code
    return None


def _phone_like(match: re.Match[str]) -> bool:
    number = match[0]
    if sum(c.isdigit() for c in number) < 7:
        return False
    if match["prefix"] or number.startswith("0"):
        return True
    return len(re.split(r"[\s.-]", number)) >= 3 and not _THOUSANDS.fullmatch(number)


def _text_phone(text: str) -> Finding | None:
    """7+ digits in groups with a ``+``, ``00``, ``(0131)`` or ``0`` prefix, or in 3+ groups."""
    match = next((m for m in _PHONE.finditer(_without_dates(text)) if _phone_like(m)), None)
    return ("a phone number", match[0]) if match else None


def _code_name(code: str) -> Finding | None:
    """Two+ letter-only words with one capitalised (``John-Smith``), or ``j.smith``."""
    words = re.split(r"[ ._-]", code)
    if any(word.lower() in _STUDY_WORDS for word in words) or len(words) < 2:
        return None
    if re.fullmatch(r"[A-Za-z][ ._-][A-Za-z]{3,}", code):
        return "an initial and a surname", code
    letters = all(re.fullmatch(r"[A-Za-z]{2,}", word) for word in words)
    if letters and any(re.match(r"[A-Z][a-z]", word) for word in words):
        return "a personal name", code
    return None


def _date_of_birth(text: str) -> Finding | None:
    """A date within :data:`_NEAR` characters of a birth cue (born, DOB, date of birth, ...)."""
    dates = _date_spans(text)
    for cue in _BIRTH_CUE.finditer(text):
        for start, end in dates:
            if max(start - cue.end(), cue.start() - end) <= _NEAR:
                return "a date of birth", text[start:end]
    return None


def _personal_name(text: str) -> Finding | None:
    """A capitalised word after a title (Mr, Dr, ...) or a cue ("patient", "name:", "called")."""
    for match in [*_TITLE.finditer(text), *_NAME_CUE.finditer(text)]:
        what = match.groupdict().get("what")
        if match["name"] in _NOT_NAMES or (what and what.lower() in _NAMED_THINGS):
            continue
        return "a personal name", match[0]
    return None


Detector = Callable[[str], Finding | None]
_CODE_RULES: Final[dict[str, Detector]] = {
    "code.date": _date,
    "code.phone": _code_phone,
    "code.national_id": _national_id,
    "code.email": _email,
    "code.name": _code_name,
}
_TEXT_RULES: Final[tuple[tuple[str, Detector, str], ...]] = (
    ("text.email", _email, "remove the e-mail address; refer to people by their study code"),
    ("text.phone", _text_phone, "remove the phone number; refer to people by their study code"),
    ("text.national_id", _national_id, "remove the number; refer to people by their study code"),
    ("text.date_of_birth", _date_of_birth, "remove the date of birth; give age in years instead"),
    ("text.name", _personal_name, "refer to people by their role or study code, never by name"),
)


def _format_fault(code: str) -> str | None:
    """What makes ``code`` an invalid code, or None."""
    if _CODE.fullmatch(code):
        return None
    if not code:
        return "is empty"
    if len(code) > _CODE_MAX:
        return f"is {len(code)} characters long; codes have at most {_CODE_MAX}"
    bad = "".join(sorted({c for c in code if not re.fullmatch(r"[A-Za-z0-9_.-]", c)}))
    if bad:
        return f"contains {bad!r}; codes use only letters, digits, '.', '_' and '-'"
    return "starts with a separator; codes start with a letter or a digit"


def _compile_pattern(pattern: str | None, example: str | None) -> re.Pattern[str] | None:
    """The trial's code pattern, refused (a configuration error) if invalid or its example fails."""
    if pattern is None:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ProtocolError(f"pattern={pattern!r} is not a regular expression: {error}") from None
    if example is not None and not compiled.fullmatch(example):
        raise ProtocolError(f"example={example!r} does not match pattern={pattern!r}")
    return compiled


def code_problems(
    field: str, value: object, *, pattern: str | None = None, example: str | None = None
) -> list[Problem]:
    """Every problem with a pseudonymous code (participant, user or site), one per rule.

    Parameters
    ----------
    field : str
        The field checked, named in each problem (``"participant"``).
    value : object
        The code as entered.
    pattern : str, optional
        The trial's code pattern, a regular expression the whole code must match
        (``r"S\\d{2}-\\d{4}"``); without it any well-formed code is accepted.
    example : str, optional
        A code matching ``pattern``, shown in the fix.

    Returns
    -------
    list of Problem
        Rules ``code.format``, ``code.date``, ``code.phone``, ``code.national_id``,
        ``code.email``, ``code.name`` and ``code.pattern``; empty when the code is acceptable.

    Raises
    ------
    ProtocolError
        If ``pattern`` is not a regular expression or ``example`` does not match it.

    Examples
    --------
    >>> code_problems("participant", "S01-0007")
    []
    >>> [p.rule for p in code_problems("participant", "John-Smith")]
    ['code.name']
    >>> problems = code_problems("site", "P7", pattern="S[0-9]{2}", example="S01")
    >>> print(problems[0])
    site='P7': 'P7' does not match the trial's code pattern S[0-9]{2}; use a code matching \
S[0-9]{2}, such as 'S01'
    """
    compiled = _compile_pattern(pattern, example)
    fix = f"use a study code such as {example or _EXAMPLE!r} instead"
    if not isinstance(value, str):
        message = f"{value!r} is of type {type(value).__name__}, not a text code"
        return [Problem(field, value, "code.format", message, fix)]
    found: dict[str, str] = {}
    if fault := _format_fault(value):
        found["code.format"] = f"{value!r} is not a valid pseudonymous code: it {fault}"
    for rule, detect in _CODE_RULES.items():
        if finding := detect(value):
            found[rule] = _looks_like(value, finding)
    problems = [Problem(field, value, rule, message, fix) for rule, message in found.items()]
    if compiled is not None and not compiled.fullmatch(value):
        message = f"{value!r} does not match the trial's code pattern {pattern}"
        such_as = f", such as {example!r}" if example else ""
        fix = f"use a code matching {pattern}{such_as}"
        problems.append(Problem(field, value, "code.pattern", message, fix))
    return problems


def _looks_like(code: str, finding: Finding) -> str:
    what, fragment = finding
    shown = f"looks like {what}" if fragment == code else f"contains {what} ({fragment!r})"
    return f"{code!r} {shown}, which could identify a person; {_WHY}"


def text_problems(field: str, value: object, *, max_length: int = 200) -> list[Problem]:
    """Every problem with a free-text field (terms, causes of death, site names, details).

    Parameters
    ----------
    field : str
        The field checked, named in each problem (``"term"``).
    value : object
        The text as entered.
    max_length : int, default 200
        The longest text accepted, in characters.

    Returns
    -------
    list of Problem
        Rules ``text.empty`` (not text, empty or blank: then the only problem),
        ``text.too_long``, ``text.email``, ``text.phone``, ``text.national_id``,
        ``text.date_of_birth`` and ``text.name``, each at most once.

    Examples
    --------
    >>> text_problems("term", "Variceal bleeding on 2026-01-05")
    []
    >>> print(text_problems("details", "seen by Dr Smith")[0])
    details='seen by Dr Smith': contains a personal name ('Dr Smith'); the trial store keeps \
pseudonymous data only; refer to people by their role or study code, never by name
    """
    if not isinstance(value, str) or not value.strip():
        message = f"{value!r} is {'blank' if isinstance(value, str) else 'not text'}"
        return [Problem(field, value, "text.empty", message, "enter the text")]
    problems = []
    if len(value) > max_length:
        message = f"{value[:30]!r}... is {len(value)} characters long; at most {max_length} allowed"
        problems.append(Problem(field, value, "text.too_long", message, "shorten the text"))
    for rule, detect, fix in _TEXT_RULES:
        if finding := detect(value):
            message = f"contains {finding[0]} ({finding[1]!r}); {_WHY}"
            problems.append(Problem(field, value, rule, message, fix))
    return problems


def field_name_problems(fields: Iterable[str], *, where: str) -> list[Problem]:
    """Field names that suggest identifying personal data (name, e-mail, NHS number, ...).

    Parameters
    ----------
    fields : iterable of str
        The names of the submitted fields.
    where : str
        What the fields belong to, for the message (``"adverse event"``).

    Returns
    -------
    list of Problem
        One ``field.identifying`` problem per field whose name, lower-cased with ``-`` and
        spaces read as ``_``, contains a word such as name, initials, email, phone, address,
        postcode, birth, dob, nhs or mrn.

    Examples
    --------
    >>> [p.field for p in field_name_problems(["term", "Date of Birth"], where="visit")]
    ['Date of Birth']
    """
    problems = []
    for field in fields:
        key = str(field).lower().replace("-", "_").replace(" ", "_")
        hit = next((word for word in _IDENTIFYING if word in key), None)
        if hit is not None:
            message = (
                f"{where} field {field!r} looks like identifying personal data ({hit!r}); {_WHY}"
            )
            fix = "identify people by their study code and give age in years, not a date of birth"
            problems.append(Problem(str(field), field, "field.identifying", message, fix))
    return problems
