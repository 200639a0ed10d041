"""Privacy rules: what of a report may leave the user's machine (pure functions, no I/O).

A shared notebook runs on strangers' machines. The author may learn *what* broke, never *whose* machine
it broke on, so every string of a report (error message, the cell's first line, frame file and function
names) passes through here before it is stored or sent.

The rules are data, in the spirit of sentry-python's ``scrubber.py``: an ordered table of named rules
(name, compiled pattern, replacement) and a denylist of secret key names. A reviewer reads the tables
top to bottom and knows what is removed; a new token format is one row. What is removed becomes a
visible marker (``<redacted>``, ``<home>``, ``<user>``, ``<host>``, ``<email>``, ``<ip>``, ``<mac>``),
never silently deleted: the report still reads as a sentence and shows that something was there.

The order is fixed and matters: secrets first (no later rule may split a secret and let half through),
then personal data (e-mail, MAC and IP addresses, the host name), then places (``file://`` URLs, the
home directory, absolute paths to base names), and the user name last, because it hides in base names
(``alice_analysis.py``). Removing a path can join two pieces that an earlier rule catches, so the
table is applied again until nothing changes: ``scrub_text`` is idempotent, and placeholders match no
rule. Each rule pins down where a match may start (a look-behind on the characters it repeats, often
behind a one-character test), so the engine never rescans a run it already rejected, and repetitions
are bounded: every rule is linear in its input, however hostile.

Trade-offs, chosen on purpose:

* The user name is replaced as a whole word, case-insensitively, anywhere in the text. A *weak* user
  name (two characters or fewer, a shared account such as ``root`` on Colab or ``jovyan`` on Binder,
  or a Python builtin or keyword such as ``max``) identifies nobody and would wreck ordinary messages
  (``KeyError: 'user'``, ``max() arg is an empty sequence``); it is replaced only where it is a path
  component (``jovyan/data.csv``). Short real names that are also English words (``ann``) cost a word.
* A bare ``key`` is not a secret name: ``KeyError`` and ``Invalid key: 'name'`` are the most common
  messages in data work. Compound names are (``api_key``, ``secret_key``, ``x-api-key``, ...).
* After a secret name the value is redacted even in prose (``password: too short`` loses ``too``): a
  false alarm costs a word, a miss costs a password. Code that merely *fetches* a secret
  (``token = userdata.get('HF_TOKEN')``) keeps its call, which is not the secret.
* ``Basic`` is an English word, so it redacts only a following word that looks like base64 (a digit,
  ``+/=``, or a capital after a small letter).
* A value after a secret name stays when it cannot be one: ``True``/``None``/``null``, a name that refers
  to a secret (``pad_token = eos_token``, ``api_key=OPENAI_API_KEY``, ``token=self.token``) or a
  tokenizer's special token (``'[PAD]'``). Without ``=`` or ``:`` (a command line) only a following word
  with a digit goes: ``auth_token expired`` is prose. In a list, the item after a secret name goes unless
  it looks like another column name (``['password', 'email'] not in index``); after ``--password`` it
  always goes.
* Four dotted numbers are an IP address unless a version specifier (``==``), a package name joined by
  ``-``, the word ``version`` or pip's ``(from versions: ...)`` stands before them: ``cudnn==8.9.2.26``.
* pydantic's ``input_value=`` and SQLAlchemy's ``[parameters: ...]`` go whole (they can be anything);
  owners' folders (``/home/<user>``, Databricks' ``/Workspace/Users/<user>``, Azure ML's cluster) and a
  OneDrive organisation (``OneDrive - <org>``) become placeholders before a path is cut to its base name.
* Loopback and unspecified addresses (``127.0.0.1``, ``0.0.0.0``, ``::1``, ``::``) are kept: they are the
  same on every machine and tell the author "the local server was not running". An IPv6 candidate also
  needs a hex letter or three groups, so slices like ``a[10::100]`` survive; ``Dead::Beef`` does not.
* An unquoted POSIX path needs two components and must start a token, so ``(a)/b/c`` stays code;
  directory names may contain up to four space-separated words (``Colab Notebooks``), which now and
  then swallows a word before a later relative path on the same line. Quoted absolute strings become
  base names even when they are URL routes (``'/api/v1/items'`` -> ``'items'``): we cannot tell.
"""

from __future__ import annotations

import builtins
import functools
import ipaddress
import keyword
import re
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, List, NamedTuple, Optional, Tuple, Union

from .word_trie import any_of


@dataclass(frozen=True)
class PrivacyContext:
    """What the rules need to know about this machine, gathered once by ``environment.py``."""

    home: str = ""
    user: str = ""
    hostname: str = ""
    library_roots: Tuple[str, ...] = ()


REDACTED = "<redacted>"
HOME = "<home>"
USER = "<user>"
HOST = "<host>"
ORG = "<org>"
EMAIL = "<email>"
IP = "<ip>"
MAC = "<mac>"
PLACEHOLDERS = (REDACTED, HOME, USER, HOST, ORG, EMAIL, IP, MAC)
# Passes of the whole table until nothing changes; in practice the second pass is the last, the bound a guard.
MAX_PASSES = 4

Replacement = Union[str, Callable[["re.Match[str]"], str]]


class Rule(NamedTuple):
    """One row of a rule table: a name for reviews and tests, a compiled pattern, what replaces a match.

    ``hints`` are case-folded substrings of which any match must contain one: a rule whose hints are all
    absent is skipped, so a plain ``KeyError`` costs a few substring tests rather than thirty scans.
    """

    name: str
    pattern: re.Pattern[str]
    replacement: Replacement
    hints: Tuple[str, ...] = ()


# Key names whose value is a secret. Names of five letters or more also match at the end of a longer
# key (clientSecret, AWS_SECRET_ACCESS_KEY); shorter ones only after a separator (db_pass, x-auth),
# so "bypass" or "compass" stay. "_" stands for "_", "-" or nothing. A bare "key" is deliberately absent.
# fmt: off
SECRET_KEY_NAMES: Tuple[str, ...] = (
    "password", "passwd", "passphrase", "pass", "pwd",
    "secret", "client_secret", "token", "auth", "authorization", "credential", "credentials",
    "api_key", "apikey", "x_api_key", "access_key", "secret_key", "private_key", "account_key",
    "subscription_key", "signature", "sig", "cookie", "dsn", "kaggle_key",
)

# Account names that identify nobody: shared defaults of containers, CI and cloud images, plus our own
# placeholder words (so a user called "host" never rewrites "<host>").
COMMON_ACCOUNT_NAMES: FrozenSet[str] = frozenset(
    {
        "root", "user", "users", "admin", "administrator", "jovyan", "ubuntu", "debian", "centos",
        "fedora", "ec2-user", "sagemaker-user", "azureuser", "runner", "vscode", "codespace", "codespaces",
        "gitpod", "coder", "guest",
        "test", "tester", "nobody", "docker", "dev", "developer", "default", "app", "sandbox", "colab",
        "kaggle", "jupyter", "notebook", "student", "pi", "owner", "local", "localhost", "system",
        "home", "host", "org", "redacted", "email", "ip", "mac", "name", "data", "python", "server",
    }
)
# fmt: on
_PROGRAMMING_WORDS: FrozenSet[str] = frozenset(n.lower() for n in dir(builtins)) | frozenset(keyword.kwlist)


def is_weak_name(name: str) -> bool:
    """True for a user or host name too short or too common to identify anyone (see module docstring)."""
    folded = name.strip().lower()
    return len(folded) <= 2 or folded in COMMON_ACCOUNT_NAMES or folded in _PROGRAMMING_WORDS


# --- secrets ------------------------------------------------------------------------------------------


def _names_pattern(names: Tuple[str, ...]) -> str:
    parts = {re.escape(n).replace("_", "[_-]?") for n in names}
    return "|".join(sorted(parts, key=len, reverse=True))


_LONG_NAMES = _names_pattern(tuple(n for n in SECRET_KEY_NAMES if len(n.replace("_", "")) >= 5))
_SHORT_NAMES = _names_pattern(tuple(n for n in SECRET_KEY_NAMES if len(n.replace("_", "")) < 5))
# Only the denylisted word is matched (the rest of the key stays outside the match, untouched), so the
# scan starts at a literal rather than at every word: long names end any key, short ones need a separator.
_SHORT_AFTER_SEPARATOR = "|".join(
    rf"{n}(?<![A-Za-z0-9]{n})" for n in _SHORT_NAMES.split("|")
)  # "(?<![A-Za-z0-9])pass", with the look-behind after the literal so the scan can skip ahead
_FIRST_LETTERS = "".join(sorted({n[0] for n in SECRET_KEY_NAMES}))
# A cheap first-letter test guards the case-insensitive alternation, which the engine cannot skip ahead on.
_KEY_NAME = (
    rf"(?=[{_FIRST_LETTERS}{_FIRST_LETTERS.upper()}])"
    rf"(?i:{_LONG_NAMES}|{_SHORT_AFTER_SEPARATOR})(?![A-Za-z0-9])"
)
_CLI_KEY = rf"--(?:[A-Za-z0-9-]*?(?:{_LONG_NAMES})|(?:[A-Za-z0-9-]*-)?(?:{_SHORT_NAMES}))(?![A-Za-z0-9])"
_KEY_HINTS = tuple(sorted({n.split("_")[-1] for n in SECRET_KEY_NAMES}))
# Between a key and its value: a closing quote or bracket, then "=", ":", "==", ":=", "=>" ...
_SEPARATOR = r"(?:\\?[\"'])?\]?[ \t]*(?:=>|[:!=]?=|:)[ \t]*"
# What may follow a secret name: the placeholder itself, a quoted string (closed or cut off), an
# escaped-quote string (JSON inside a repr), a tuple (``auth=('bob', 'pw')``), or a bare word, optionally
# after an auth scheme. What looks like the next secret key ("PASSWORD: 'password': 'x'") is left for
# its own match, else its value would go out. A bare word directly followed by "(" or "[" is code
# that fetches the secret; the look-ahead-and-backreference pair makes that test atomic.
_NOT_A_KEY = rf"(?!(?:\\?[\"'])?[ \t]*[A-Za-z0-9_.-]{{0,40}}?{_KEY_NAME}{_SEPARATOR})"
_VALUE = (
    _NOT_A_KEY + r"(?P<value><redacted>"
    r"|'(?:[^'\\\n]|\\.)+(?:'|(?=\n)|\Z)"
    r'|"(?:[^"\\\n]|\\.)+(?:"|(?=\n)|\Z)'
    r"|\\'[^'\n]*?\\'"
    r'|\\"[^"\n]*?\\"'
    r"|\([^()\n]{1,200}\)"
    r"|(?=(?P<braced>\{(?:[^{}\n]|\}\}){1,200}))(?P=braced)(?:\}|(?=\n)|\Z)"  # ODBC's {...}, "}}" is "}"
    rf"|(?:(?i:Bearer|Basic|Token|Digest)[ \t]+{_NOT_A_KEY})?"
    r"(?=(?P<bare>[^\s'\"`,;&(){}\[\]]+))(?P=bare)(?![(\[]))"
)
_SCHEME = re.compile(r"(?i)(?:Bearer|Basic|Token|Digest)[ \t]+")


# Values that spell no secret: literals as Python, JSON and JavaScript write them, and names that refer
# to a secret (``pad_token = eos_token``, ``api_key=OPENAI_API_KEY``, ``token=self.token``): an
# identifier without digits whose last word, after a "_" or ".", is a secret name. A secret name alone or
# ``mySecret`` could be the password itself. Quoted, only a tokenizer's special tokens (``'[PAD]'``).
_LITERALS = frozenset({"True", "False", "None", "true", "false", "null", "NULL"})
_REFERENCE = re.compile(rf"(?:[A-Za-z_]+\.)*(?:[A-Za-z_]*_|(?<=\.))(?i:{_LONG_NAMES}|{_SHORT_NAMES}|key)")
_SPECIAL_TOKEN = re.compile(r"(?P<q>['\"])(?:\[[A-Z]{2,10}\]|<\|?/?[A-Za-z_]{1,20}\|?>)(?P=q)")


def is_harmless_value(value: str) -> bool:
    """True for a value after a secret name that is no secret: a literal, a reference, a special token."""
    return (
        value in _LITERALS
        or _REFERENCE.fullmatch(value) is not None
        or _SPECIAL_TOKEN.fullmatch(value) is not None
    )


def _redact_value(match: re.Match[str]) -> str:
    """Keep the key, separator, quotes and auth scheme; only the secret itself becomes the marker."""
    value = match.group("value")
    if is_harmless_value(value):
        return match.group(0)
    scheme = _SCHEME.match(value)
    prefix = scheme.group(0) if scheme else ""
    value = value[len(prefix) :]
    if value[:1] in ("'", '"'):
        closed = len(value) > 1 and value.endswith(value[0]) and not value.endswith("\\" + value[0])
        redacted = value[0] + REDACTED + (value[0] if closed else "")
    elif value[:1] == "\\" and len(value) > 1:
        redacted = value[:2] + REDACTED + value[:2]
    else:
        redacted = REDACTED
    return match.group("key") + match.group("sep") + prefix + redacted


_T = r"(?<![A-Za-z0-9_-])"  # a token starts a word
_WORD = r"[^\s'\"`,;(){}\[\]<]"  # a character of a bare word
_QUOTED = r"'(?:[^'\\\n]|\\.)*(?:'|(?=\n)|\Z)|\"(?:[^\"\\\n]|\\.)*(?:\"|(?=\n)|\Z)"
_QUOTED_STRING = re.compile(_QUOTED)
_HEX_CHARS = "0123456789abcdef"


def _redact_key_value(match: re.Match[str]) -> str:
    if match.group("word") is not None:
        return match.group("key") + match.group("space") + REDACTED
    return _redact_value(match)


def _redact_odbc(match: re.Match[str]) -> str:
    if match.group("key")[:1] in "uU":
        return (
            match.group(0) if match.group("value") == USER else match.group("key") + match.group("sep") + USER
        )
    return _redact_value(match)


def _redact_twilio(match: re.Match[str]) -> str:
    """An account or API key SID, and the auth token or key secret that follows it in an argument list."""
    if match.group("secret") is None:
        return REDACTED
    return REDACTED + match.group("sep") + REDACTED


def _redact_quoted(text: str) -> str:
    return _QUOTED_STRING.sub(lambda m: m.group(0)[0] + REDACTED + m.group(0)[0], text)


def _redact_arguments(match: re.Match[str]) -> str:
    """Every string literal among a call's arguments; names of variables stay."""
    return match.group("call") + _redact_quoted(match.group("args"))


_QUOTED_NAME = re.compile(r"['\"][a-z][a-z_ ]*['\"]")


def _looks_like_a_name(value: str) -> bool:
    """``'email'``, ``'created at'``: a column or field name rather than a secret (small letters only)."""
    return _QUOTED_NAME.fullmatch(value) is not None


def _redact_list_item(match: re.Match[str]) -> str:
    """The item after a secret name in an argument list; after a plain name (a list of columns such as
    ``['password', 'email']``) only an item that does not look like another name."""
    value = match.group("value")
    if not match.group("key")[1:].startswith("-") and _looks_like_a_name(value):
        return match.group(0)
    return _redact_value(match)


# A value, not a key with its separator ("login password: x" is for the key's own rule).
_NETRC_VALUE = re.compile(
    r"(?<![\w-])((?:login|password|account)[ \t]+)(?![=:])[^\s'\"]+(?<![=:])(?![^\s'\"]|[ \t]*[=:])"
)


def _redact_netrc(match: re.Match[str]) -> str:
    return _NETRC_VALUE.sub(rf"\g<1>{REDACTED}", match.group(0))


def _replace_user_name_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[0] in "'\"" else ""
    if value.strip("'\"") == USER or is_harmless_value(value) or is_weak_name(value.strip("'\"")):
        return match.group(0)
    return match.group("key") + match.group("sep") + quote + USER + quote


def _replace_sql_user(match: re.Match[str]) -> str:
    return match.group(1) + match.group("q") + USER + match.group("q")


def _redact_input_value(match: re.Match[str]) -> str:
    value = match.group("value")
    if value in _LITERALS or value in ("''", '""', "{}", "[]", "()", REDACTED):
        return match.group(0)
    return match.group("key") + REDACTED


_ENV_NAME = (
    rf"(?:[A-Za-z_][A-Za-z0-9_]*?)?(?:{_KEY_NAME}|(?<![A-Za-z0-9])(?i:key|user_?name))(?![A-Za-z0-9_])"
)

SECRET_RULES: Tuple[Rule, ...] = (
    Rule(
        "private_key_block",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)"
        ),
        REDACTED,
        ("private key",),
    ),
    # Up to the authority's last "@", so a password holding "@" goes whole.
    Rule(
        "url_credentials",
        re.compile(r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,30}://)[^/?#\s'\"<>@][^/?#\s'\"<>]*@"),
        r"\g<1><redacted>@",
        ("@",),
    ),
    Rule(
        "slack_webhook",
        re.compile(r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_-]+"),
        r"\g<1><redacted>",
        ("hooks.slack.com/",),
    ),
    Rule(
        "discord_webhook",
        re.compile(r"(?i)(discord(?:app)?\.com/api/webhooks/[0-9]+/)[A-Za-z0-9_-]+"),
        r"\g<1><redacted>",
        ("/api/webhooks/",),
    ),
    # A shared Drive file's id is the key to the user's data.
    Rule(
        "google_drive_id",
        re.compile(r"(?i)((?:drive|docs)\.google\.com/[^\s'\"<>]*?(?:/d/|[?&]id=))[A-Za-z0-9_-]{10,}"),
        r"\g<1><redacted>",
        ("google.com/",),
    ),
    Rule(
        "aws_access_key_id",
        re.compile(
            r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA|A3T[A-Z0-9])"
            r"[A-Z0-9]{16}(?![A-Za-z0-9])"
        ),
        REDACTED,
        (
            "akia",
            "asia",
            "abia",
            "acca",
            "agpa",
            "aida",
            "aipa",
            "anpa",
            "anva",
            "aroa",
            "apka",
            "asca",
            "a3t",
        ),
    ),
    Rule(
        "github_token",
        re.compile(_T + r"(?:gh[oprsu]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})"),
        REDACTED,
        ("gho_", "ghp_", "ghr_", "ghs_", "ghu_", "github_pat_"),
    ),
    Rule(
        "gitlab_token",
        re.compile(_T + r"gl(?:pat|dt|rt|ptt|ft|cbt|imt|oas|soat|agent)-[A-Za-z0-9_-]{20,}"),
        REDACTED,
        ("gl",),
    ),
    Rule(
        "slack_token",
        re.compile(_T + r"(?:xox[abeoprs]-|xapp-)[A-Za-z0-9-]{10,}"),
        REDACTED,
        ("xox", "xapp-"),
    ),
    Rule("google_api_key", re.compile(_T + r"AIza[0-9A-Za-z_-]{30,}"), REDACTED, ("aiza",)),
    Rule("google_oauth_token", re.compile(_T + r"ya29\.[0-9A-Za-z_-]{20,}"), REDACTED, ("ya29.",)),
    Rule(
        "openai_style_key",
        re.compile(_T + r"sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}"),
        REDACTED,
        ("sk-",),
    ),
    Rule(
        "stripe_key",
        re.compile(_T + r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,})"),
        REDACTED,
        ("_live_", "_test_", "whsec_"),
    ),
    Rule("huggingface_token", re.compile(_T + r"hf_[A-Za-z0-9]{30,}"), REDACTED, ("hf_",)),
    Rule("pypi_token", re.compile(_T + r"pypi-[A-Za-z0-9_-]{50,}"), REDACTED, ("pypi-",)),
    Rule("npm_token", re.compile(_T + r"npm_[A-Za-z0-9]{36,}"), REDACTED, ("npm_",)),
    Rule(
        "jwt",
        re.compile(_T + r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
        REDACTED,
        ("eyj",),
    ),
    Rule(
        "sendgrid_key", re.compile(_T + r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}"), REDACTED, ("sg.",)
    ),
    Rule(
        "discord_bot_token",
        re.compile(
            r"[MNO](?<![A-Za-z0-9_-][MNO])[A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}"
            r"(?![A-Za-z0-9_-])"
        ),
        REDACTED,
        (".",),
    ),
    Rule(
        "databricks_token",
        re.compile(r"(?<![A-Za-z0-9])dapi[0-9a-f]{32}(?:-[0-9]{1,2})?(?![A-Za-z0-9])"),
        REDACTED,
        ("dapi",),
    ),
    # Also in a Bot API URL: api.telegram.org/bot<token>/getMe.
    Rule(
        "telegram_bot_token",
        re.compile(
            r"[0-9](?:(?<=/bot[0-9])|(?<![A-Za-z0-9_:-][0-9]))[0-9]{5,11}:[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])"
        ),
        REDACTED,
        (":",),
    ),
    # Twilio's account and API key SIDs; the auth token or key secret right after one goes with it.
    Rule(
        "twilio_sid",
        re.compile(
            r"(?<![A-Za-z0-9])(?:AC|SK)[0-9a-fA-F]{32}(?![A-Za-z0-9])"
            r"(?:(?P<sep>['\"]?[ \t]*,[ \t]*['\"]?)(?P<secret>[A-Za-z0-9]{32})(?![A-Za-z0-9]))?"
        ),
        _redact_twilio,
        tuple(prefix + c for prefix in ("ac", "sk") for c in _HEX_CHARS),
    ),
    # A Weights & Biases API key: 40 hex digits (after "local-" on a local server) after "wandb".
    Rule(
        "wandb_api_key",
        re.compile(r"(?i)(wandb[^\n]{0,100}?)(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-z])"),
        rf"\g<1>{REDACTED}",
        ("wandb",),
    ),
    # A user name's value: username='hkowalski', KAGGLE_USERNAME=..., kaggle.json's {"username":"..."}.
    Rule(
        "user_name_value",
        re.compile(
            rf"(?i)(?P<key>(?<![A-Za-z0-9])(?:[A-Za-z0-9]+[_-])*user[_-]?name)(?P<sep>{_SEPARATOR})"
            rf"{_NOT_A_KEY}(?P<value>'[^'\n]{{1,100}}'|\"[^\"\n]{{1,100}}\"|[A-Za-z0-9_.@+-]{{1,100}}(?![A-Za-z0-9_.@+(\[-]))"
        ),
        _replace_user_name_value,
        ("username", "user_name", "user-name"),
    ),
    # A bare "key" is no secret name, but a quoted "key" given a token is (kaggle.json's API key).
    Rule(
        "quoted_key_token",
        re.compile(
            r"(?P<key>(?P<q>[\"'])key(?P=q))(?P<sep>[ \t]*:[ \t]*)"
            r"(?P<value>(?P<q2>[\"'])(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}(?P=q2))"
        ),
        _redact_value,
        ("key",),
    ),
    # `%env NAME value` (or NAME=value) for a secret-looking NAME: the rest of the line is the value.
    Rule(
        "env_magic",
        re.compile(
            rf"(?<![\w%])(?P<key>%(?:set_)?env[ \t]+{_ENV_NAME})(?P<sep>[ \t]*=[ \t]*|[ \t]+)"
            r"(?P<value>[^\s][^\n]*)"
        ),
        _redact_value,
        ("%env", "%set_env"),
    ),
    # ['aws', 'configure', 'set', 'aws_secret_access_key', '...'] and '--password', '...' (subprocess).
    Rule(
        "secret_list_item",
        re.compile(
            rf"(?P<key>(?P<q>['\"])(?:--?)?[A-Za-z0-9_.-]{{0,40}}?{_KEY_NAME}(?P=q))(?P<sep>[ \t]*,[ \t]*)"
            rf"(?P<value>{_QUOTED})"
        ),
        _redact_list_item,
        _KEY_HINTS,
    ),
    # SQL: the name in CREATE USER bob, ALTER ROLE 'bob'@'%' (often a person's) ...
    Rule(
        "sql_user",
        re.compile(
            r"(?i)(?<![\w-])((?:create|alter|drop)[ \t]+(?:user|role)[ \t]+"
            r"(?:if[ \t]+(?:not[ \t]+)?exists[ \t]+)?)(?!if[ \t])"
            r"(?P<q>['\"`]?)(?!<user>)[A-Za-z_][\w$.-]{0,63}(?P=q)(?![\w$.-]|[ \t]*[:=])"
        ),
        _replace_sql_user,
        ("user", "role"),
    ),
    # ... and its password: CREATE USER bob WITH PASSWORD '...'; MySQL's IDENTIFIED BY '...'.
    Rule(
        "sql_password",
        re.compile(
            r"(?i)(?<![\w-])(?P<key>password|identified[ \t]+by)(?P<sep>[ \t]+)"
            r"(?P<value>'(?:[^'\n]|'')+(?:'(?![ \t]*[:=])|(?=\n)|\Z))"  # a quoted key is no value
        ),
        _redact_value,
        ("password", "identified"),
    ),
    # SQLAlchemy repeats a failed statement's bound values: [parameters: ('alice@x.org', 'hunter2')].
    Rule(
        "sqlalchemy_parameters",
        re.compile(r"(\[parameters:[ \t]*)(?:[^\n]*(?=\])|[^\n]+)"),
        rf"\g<1>{REDACTED}",
        ("[parameters:",),
    ),
    # An ODBC connection string's values run to the ";" or the string's end, spaces and all: its
    # password goes, and its user name (often a person's) too.
    Rule(
        "odbc_credentials",
        re.compile(
            r"(?i)(?<=[;'\"])(?P<key>pwd|password|uid|user[ \t]?id)(?P<sep>[ \t]*=[ \t]*)"
            r"(?P<value>[^;{}'\"\n=]{1,200})(?=[;'\"\n]|\Z)"
        ),
        _redact_odbc,
        ("pwd", "password", "uid", "user"),
    ),
    # A .netrc line: machine api.wandb.ai login alice password ... (a host name has a dot).
    Rule(
        "netrc",
        re.compile(
            r"(?<![\w-])machine[ \t]+[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
            r"(?=[ \t]+(?:login|password|account)[ \t])[^\n]*"
        ),
        _redact_netrc,
        ("machine",),
    ),
    # pydantic repeats the input it refused, and that can be anything: [..., input_value=..., input_type=str]
    Rule(
        "pydantic_input_value",
        re.compile(r"(?P<key>input_value=)(?P<value>[^\n]*?)(?=, input_type=|\][ \t]*(?:\n|\Z)|\n|\Z)"),
        _redact_input_value,
        ("input_value=",),
    ),
    # Key and value before the bare auth schemes: the key is the stronger signal, and a scheme must not
    # swallow a key name ("bearer client_secret = ...") and leave its value behind. Without "=" or ":",
    # as on a command line (`aws configure set aws_secret_access_key ...`, `ngrok authtoken ...`), only a
    # word of six characters or more with a digit: "auth_token expired" is prose.
    Rule(
        "secret_key_value",
        re.compile(
            rf"(?P<key>{_KEY_NAME})(?:(?P<sep>{_SEPARATOR}){_VALUE}"
            rf"|(?P<space>[ \t]+)(?P<word>(?={_WORD}*[0-9]){_WORD}{{6,}})(?!{_WORD}|<))"
        ),
        _redact_key_value,
        _KEY_HINTS,
    ),
    # After key and value (a quote opened before the call must not hide a key's value from that rule):
    # a setter's string arguments: ngrok.set_auth_token('...'), keyring.set_password('svc', 'me', '...').
    Rule(
        "secret_setter_call",
        re.compile(
            rf"(?i)(?<![A-Za-z0-9])(?P<call>set_?(?:[A-Za-z0-9]+_)*?(?:{_LONG_NAMES}|{_SHORT_NAMES})\()"
            r"(?P<args>[^()\n]{1,300})"
        ),
        _redact_arguments,
        _KEY_HINTS,
    ),
    # requests' HTTPBasicAuth('user', '...') and its kin, aiohttp's BasicAuth(...).
    Rule(
        "basic_auth_call",
        re.compile(
            r"(?P<call>(?:HTTP(?:Basic|Digest|Proxy)Auth|BasicAuth|DigestAuth)\()(?P<args>[^()\n]{1,300})"
        ),
        _redact_arguments,
        ("auth(",),
    ),
    Rule(
        "secret_cli_option",
        re.compile(rf"(?i)(?<![\w-])(?P<key>{_CLI_KEY})(?P<sep>[ \t]+)(?!-)" + _VALUE),
        _redact_value,
        ("--",),
    ),
    Rule(
        "bearer",
        # The token must end there, and not be a key: "bearer api_key=...", "bearer secret = ...".
        re.compile(
            r"(?i)(?<![A-Za-z0-9_-])(bearer[ \t]+)[A-Za-z0-9._~+/-]{6,}=*(?![A-Za-z0-9._~+/=<-]|[ \t]*[:=])"
        ),
        r"\g<1><redacted>",
        ("bearer",),
    ),
    Rule(
        "basic_auth",
        re.compile(
            r"(?<![A-Za-z0-9_-])([Bb]asic[ \t]+)(?=[A-Za-z0-9+/]*(?:[0-9+/=]|[a-z][A-Z]))"
            r"[A-Za-z0-9+/]{6,}=*(?![A-Za-z0-9+/=<]|[ \t]*[:=])"
        ),
        r"\g<1><redacted>",
        ("basic",),
    ),
)


# --- personal data -------------------------------------------------------------------------------------


def _keep_local_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return True  # not an address after all: leave it
    return address.is_loopback or address.is_unspecified


# What before four dotted numbers makes them a version (nvidia-cudnn-cu12==8.9.2.26), not an address:
# a version specifier, a name joined by "-" or "_", the word "version", a CUDA package's name (looked
# for in the 40 characters before), or pip's "(from versions: ..." list still open.
_VERSION_BEFORE = re.compile(
    r"(?:[=<>!~]=|[A-Za-z][A-Za-z0-9]*[-_]|(?i:version)s?:?[ \t]*"
    r"|(?i:nvidia|cuda|cudnn|tensorrt|[a-z0-9]-cu[0-9]{2,3})[\w.-]*[ \t]+)\Z"
)
_VERSION_LIST = "(from versions:"


def _is_version(text: str, start: int) -> bool:
    if _VERSION_BEFORE.search(text, max(0, start - 40), start) is not None:
        return True
    opened = text.rfind(_VERSION_LIST, max(0, start - 2000), start)
    return opened >= 0 and not any(char in text[opened:start] for char in ")\n")


def _replace_ipv4(match: re.Match[str]) -> str:
    if _is_version(match.string, match.start()):
        return match.group(0)
    return match.group(0) if _keep_local_address(match.group(0)) else IP


def _replace_ipv6(match: re.Match[str]) -> str:
    candidate = match.group(0)
    plausible = re.search(r"[A-Fa-f]", candidate) or len([g for g in candidate.split(":") if g]) >= 3
    if not plausible or _keep_local_address(candidate):
        return candidate
    return IP


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HEX = r"[0-9A-Fa-f]{1,4}"

PERSONAL_RULES: Tuple[Rule, ...] = (
    Rule(
        "email",
        re.compile(
            r"(?<![\w.%+-])[\w.%+-]+(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.){1,10}[A-Za-z]{2,63}(?![\w(-])"
        ),
        EMAIL,
        ("@", "%40"),  # URL-encoded too: ?email=alice%40example.org
    ),
    Rule(
        "mac_address",
        re.compile(
            r"(?=[0-9A-Fa-f]{2}[:-])(?<![\w:-])"
            r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}(?![\w:-])"
        ),
        MAC,
        (":", "-"),
    ),
    # Exactly four octets, not part of a longer dotted run (1.2.3.4.5 is a version, not an address).
    Rule(
        "ipv4",
        re.compile(rf"(?=[0-9]{{1,3}}\.)(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w]|\.[0-9])"),
        _replace_ipv4,
        (".",),
    ),
    Rule(
        "ipv6",
        re.compile(
            rf"(?=[0-9A-Fa-f]{{0,4}}:)(?<![\w:.])"
            rf"(?:(?:{_HEX}:){{7}}{_HEX}"  # eight groups, or fewer around one "::"
            rf"|(?:{_HEX}(?::{_HEX}){{0,6}})?::(?:{_HEX}(?::{_HEX}){{0,6}})?)(?![\w:])"
        ),
        _replace_ipv6,
        (":",),
    ),
)


# --- places ---------------------------------------------------------------------------------------------


def _basename(path: str, posix: bool) -> Optional[str]:
    """The last non-empty component; None for a one-component POSIX path (``/tmp``), kept as it is."""
    parts = [p for p in (path.split("/") if posix else re.split(r"[\\/]+", path)) if p]
    if not parts or (posix and len(parts) < 2):
        return None
    return parts[-1]


def _replace_path(match: re.Match[str]) -> str:
    path = match.group(0)
    base = _basename(path, posix=path.startswith("/"))
    return path if base is None else base


def _replace_quoted_path(match: re.Match[str]) -> str:
    quote = match.group(0)[0]
    path = match.group("sq") if match.group("sq") is not None else match.group("dq")
    base = _basename(path, posix=path.startswith("/"))
    return match.group(0) if base is None else quote + base + quote


def _replace_file_url(match: re.Match[str]) -> str:
    parts = [p for p in re.split(r"[\\/]+", match.group("rest")) if p]
    return parts[-1] if parts else match.group(0)


# One path component; directories may hold a few space-separated words ("Colab Notebooks/").
_SEG = r"[^\s\\/'\"`|,;:()\[\]{}*?]+"
_DIR = rf"{_SEG}(?: {_SEG}){{0,3}}[\\/]+"
_START = (
    r"(?=[/~<\\]|[A-Za-z]:)"  # a cheap test before the alternatives and their look-behinds
    r"(?:(?<![^\s'\"`(\[{=,;:])/(?=[^\s\\/])"  # POSIX, starting a token ("://" is no start)
    r"|(?<![\w~])~[\w.-]*[\\/]+"  # ~/ and ~bob/
    r"|<home>[\\/]+"  # the home directory, already replaced
    r"|(?<![A-Za-z0-9_])[A-Za-z]:[\\/]+"  # C:\ and C:/
    r"|(?<![\w\\])\\\\+)"  # \\server\share
)
_QUOTED_START = r"(?:/(?=[^\s\\/'\"])|~[\w.-]*[\\/]|<home>[\\/]|[A-Za-z]:[\\/]|\\\\)"

# The folder that names its owner: a home directory (/home/<user>, /Users/<user>, C:\\Users\\<user>),
# a Databricks workspace's (/Workspace/Users/<user>, /Workspace/Repos/<user>), Azure ML's
# (.../code/Users/<user>), and an Azure ML compute cluster (/mounts/clusters/<name>).
HOME_OWNER = re.compile(
    r"(?i)(?P<folder>/(?<![\w.~-]/)(?:home|Users)/+"
    r"|[\\/](?<=(?<![A-Za-z0-9_])[A-Za-z]:[\\/])[\\/]*Users[\\/]+"  # after C: (left as it is)
    r"|/Workspace/(?:Users|Repos)/+|/code/Users/+|/mounts/clusters/+)"
    r"(?P<owner>[^\s\\/'\"`:;,()\[\]{}<>*?|]{1,64})(?=[\\/\s'\"`:;,()\]}>]|$)"
)
OWNER_HINTS = ("/home/", "users", "/repos/", "/clusters/")
# Folders under /Users or C:\\Users that belong to nobody in particular (macOS, Windows).
NOT_OWNERS = frozenset({"shared", "public", "default", "all users", "default user", "guest"})


def is_owner(name: str) -> bool:
    """True for a folder name in an owner's place that could identify someone."""
    return name.casefold() not in NOT_OWNERS and not is_weak_name(name)


def _replace_owner(match: re.Match[str]) -> str:
    if not is_owner(match.group("owner")):
        return match.group(0)
    return match.group("folder") + (HOST if "clusters" in match.group("folder").lower() else USER)


FILE_URL_RULE = Rule(
    "file_url", re.compile(r"(?i)(?<![\w+.-])file:(?P<rest>//[^\s'\"()]*)"), _replace_file_url, ("file:",)
)
PLACE_RULES: Tuple[Rule, ...] = (
    Rule("folder_owner", HOME_OWNER, _replace_owner, OWNER_HINTS),
    # The organisation in a OneDrive for Business folder: "OneDrive - Contoso Ltd", "OneDrive-Contoso".
    Rule(
        "onedrive_organisation",
        re.compile(
            r"(?i)(?<![\w-])(OneDrive(?:[ \t]+-[ \t]+|-))(?!<org>)[^\\/\n'\"`]{1,100}?(?=[\\/\n'\"`]|\Z)"
        ),
        rf"\g<1>{ORG}",
        ("onedrive",),
    ),
)
PATH_RULES: Tuple[Rule, ...] = (
    Rule(
        "quoted_absolute_path",
        re.compile(rf"'(?P<sq>{_QUOTED_START}[^'\n]*)'|\"(?P<dq>{_QUOTED_START}[^\"\n]*)\""),
        _replace_quoted_path,
        ("/", "\\"),
    ),
    Rule("absolute_path", re.compile(rf"{_START}(?:{_DIR})*{_SEG}"), _replace_path, ("/", "\\")),
)


# --- this machine: host, home, user ----------------------------------------------------------------------


def _host_rules(hostname: str) -> Tuple[Rule, ...]:
    hostname = hostname.strip()
    names = {n for n in (hostname, hostname.split(".")[0]) if n and not is_weak_name(n)}
    if not names:
        return ()
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    firsts = re.escape("".join(sorted({n[0] for n in names})))
    pattern = re.compile(rf"(?i)(?=[{firsts}])(?<![\w<-])(?:{alternatives})(?![\w>-])")
    return (Rule("hostname", pattern, HOST, tuple(n.casefold() for n in names)),)


def _home_rules(home: str) -> Tuple[Rule, ...]:
    home = home.strip()
    parts = [p for p in re.split(r"[\\/]+", home) if p]
    if not parts or len("/".join(parts)) < 3:
        return ()
    # The look-behind lets only the first of a run of separators start a match: no rescans.
    lead = r"(?<![\\/])[\\/]+" if home[:1] in ("/", "\\") else ""
    body = r"[\\/]+".join(re.escape(p) for p in parts)
    first = r"[\\/]" if lead else re.escape(parts[0][0])
    pattern = re.compile(rf"(?i)(?={first})(?<![\w.-]){lead}{body}(?![\w.-])")
    return (Rule("home_directory", pattern, HOME, (parts[-1].casefold(),)),)


def _user_rules(user: str) -> Tuple[Rule, ...]:
    user = user.strip()
    if not user:
        return ()
    name = re.escape(user)
    if is_weak_name(user):
        # Only as a path component: "jovyan/data.csv", "data/root".
        pattern = rf"(?i)(?<![\w.<-]){name}(?=[\\/])|(?<=[\\/]){name}(?![\w.>-])"
        return (Rule("user_name_in_path", re.compile(pattern), USER, (user.casefold(),)),)
    # A whole word, letters as the only word characters: alice_analysis.py and alice2 contain "alice".
    pattern = rf"(?i)(?={re.escape(user[0])})(?<![^\W\d_])(?<!<){name}(?![^\W\d_])(?!>)"
    return (Rule("user_name", re.compile(pattern), USER, (user.casefold(),)),)


@functools.lru_cache(maxsize=16)
def rules_for(context: PrivacyContext) -> Tuple[Rule, ...]:
    """The whole table in the order ``scrub_text`` applies it: static rows plus this machine's names."""
    return (
        SECRET_RULES
        + PERSONAL_RULES
        + _host_rules(context.hostname)
        + (FILE_URL_RULE,)
        + _home_rules(context.home)
        + PLACE_RULES
        + PATH_RULES
        + _user_rules(context.user)
    )


HintTest = Callable[[str], Optional["re.Match[str]"]]
MANY_HINTS = 4  # above this many hints, one search for all of them beats a substring test for each


@functools.lru_cache(maxsize=16)
def _rules_and_screen(
    context: PrivacyContext,
) -> Tuple[Tuple[Tuple[Rule, Optional[HintTest]], ...], Optional[HintTest]]:
    """``rules_for(context)``, each with one search for its hints if it has many, and one search for all
    their hints (None if a rule has no hints).

    A text in which that one search finds no hint matches no rule: it is returned at once, instead of
    after a test for the hints of every rule (fifty rules, two hundred hints).
    """
    rules = tuple(
        (rule, _hint_search(rule.hints) if len(rule.hints) > MANY_HINTS else None)
        for rule in rules_for(context)
    )
    if any(not rule.hints for rule, _ in rules):
        return rules, None
    return rules, _hint_search(tuple({hint for rule, _ in rules for hint in rule.hints}))


@functools.cache
def _hint_search(hints: Tuple[str, ...]) -> HintTest:
    return re.compile(any_of(hints)).search


def scrub_text(text: str, context: PrivacyContext) -> str:
    """Replace the home directory, the user name, absolute paths and secrets by placeholders.

    Removing a path or URL can join two pieces into something an earlier rule catches
    (``Bearer file:///x/tok123`` becomes ``Bearer tok123``), so the table is applied again until nothing
    changes; an ordinary message is unchanged by the first pass and costs exactly one.
    """
    rules, screen = _rules_and_screen(context)
    if not text or (screen is not None and screen(text.casefold()) is None):
        return text
    for _ in range(MAX_PASSES):
        scrubbed = _apply(rules, text)
        if scrubbed == text:
            break
        text = scrubbed
    return text


def _apply(rules: Tuple[Tuple[Rule, Optional[HintTest]], ...], text: str) -> str:
    if not text:
        return text
    folded = text.casefold()
    searched: Dict[HintTest, bool] = {}  # rules with the same hints share a search (and its answer)
    for rule, search in rules:
        if search is not None:
            found = searched.get(search)
            if found is None:
                found = searched[search] = search(folded) is not None
            if not found:
                continue
        elif rule.hints:
            for hint in rule.hints:  # inline: this runs for every rule of every text
                if hint in folded:
                    break
            else:
                continue
        text, count = rule.pattern.subn(rule.replacement, text)
        if count:
            folded = text.casefold()
            searched.clear()
    return text


# --- frame file names -------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\\/]+")
_SITE_PACKAGES = re.compile(r"/(?:site|dist)-packages/", re.I)
_POSIX_STDLIB = re.compile(
    r"/lib(?:64)?/(?:python|pypy)[0-9]+(?:\.[0-9]+)?t?/|/(?:python|pypy)[0-9]+\.zip/", re.I
)
# Windows keeps the standard library in "Lib" right inside the installation or environment.
_WINDOWS_STDLIB = re.compile(
    r"/(?i:python[0-9.]*|pypy[0-9.]*|[a-z]*conda[0-9]*|miniforge[0-9]*|mambaforge[0-9]*"
    r"|envs/[^/]+|versions/[^/]+)/Lib/"
)


def _after_last(pattern: re.Pattern[str], path: str) -> Optional[str]:
    ends = [match.end() for match in pattern.finditer(path)]
    return path[ends[-1] :] if ends else None


def _after_site_packages(path: str) -> Optional[str]:
    return _after_last(_SITE_PACKAGES, "/" + path)


def _under_root(path: str, roots: Tuple[str, ...], home: str) -> Optional[str]:
    """The path below the longest usable library root, compared case-insensitively."""
    home_norm = _SEPARATORS.sub("/", home).rstrip("/").lower()
    best: Optional[str] = None
    for root in roots:
        norm = _SEPARATORS.sub("/", root).rstrip("/")
        # A root of one component ("/usr") or one holding the home directory would let private
        # directory names through as "library" paths.
        if len([p for p in norm.split("/") if p]) < 2 or (home_norm + "/").startswith(norm.lower() + "/"):
            continue
        if path[: len(norm)].lower() == norm.lower() and path[len(norm) : len(norm) + 1] == "/":
            rest = path[len(norm) + 1 :]
            if best is None or len(rest) < len(best):
                best = rest
    return best


def library_relative(filename: str, context: PrivacyContext) -> Optional[str]:
    """``pandas/core/frame.py`` for a file below site-packages, dist-packages, the stdlib or a root."""
    path = _SEPARATORS.sub("/", filename)
    below_root = _under_root(path, context.library_roots, context.home)
    relative = _after_site_packages(below_root if below_root is not None else path)
    if relative is None:
        relative = below_root
    if relative is None:
        relative = _after_last(_POSIX_STDLIB, path)
    if relative is None:
        relative = _after_last(_WINDOWS_STDLIB, path)
    if relative is None:
        return None
    parts = [p for p in relative.split("/") if p]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def strip_filename(filename: str, context: PrivacyContext) -> str:
    """Library files keep their path below site-packages; anything else keeps its base name."""
    return _strip_filename(filename, context)


@functools.lru_cache(maxsize=4096)
def _strip_filename(filename: str, context: PrivacyContext) -> str:
    # Cached: a traceback names the same library files again and again.
    if not filename or (filename.startswith("<") and filename.endswith(">")):
        return scrub_text(filename, context)
    relative = library_relative(filename, context)
    parts: List[str] = (
        relative.split("/") if relative is not None else [p for p in _SEPARATORS.split(filename) if p][-1:]
    )
    if not parts:  # only separators
        return scrub_text(filename, context)
    # Component by component, so a base name is scrubbed as a name, never as a path.
    return "/".join(scrub_text(part, context) for part in parts)
